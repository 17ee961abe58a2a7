// `wisesr prep --layout`: the ImageNet/MIT67 label files, and each layout's resolution of ROOT into train/val
// inputs and the class order (no decoding: the images here are empty files; tests/integration/layouts.sh
// prepares real ones end to end).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "config/cli.h"
#include "layouts.h"
#include "prep_options.h"
#include "sources.h"
#include "test_data.h"

namespace wisesr::prep {
namespace {

namespace stdfs = std::filesystem;
using testing::error_of;

std::string put(const stdfs::path& file, const std::string& text = "") {
  stdfs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
  return file.string();
}

// rel -> class name, over a split.
std::map<std::string, std::string> labels(const SourceSet& set, const std::vector<Source>& split) {
  std::map<std::string, std::string> out;
  for (const auto& s : split) out[s.rel_path] = set.classes[static_cast<size_t>(s.label)];
  return out;
}

SourceSet collect(Layout layout, const stdfs::path& root, double val_fraction = 0.2) {
  PrepOptions cfg;
  cfg.layout = layout;
  cfg.input = root.string();
  cfg.out = (root.parent_path() / "out").string();
  cfg.val_fraction = val_fraction;
  cfg.validate();
  return collect_sources(cfg);
}

TEST(ImagenetFiles, SynsetMappingIsTheFirstWordOfEachLineInIdOrder) {
  testing::TempDir dir;
  const auto loc = put(dir.path() / "LOC_synset_mapping.txt",
                       "n01440764 tench, Tinca tinca\r\nn01443537 goldfish, Carassius auratus\r\n\r\n");
  EXPECT_EQ(read_synset_mapping(loc), (std::vector<std::string>{"n01440764", "n01443537"}));
  const auto plain = put(dir.path() / "synsets.txt", "n01440764\nn01443537\nn15075141\n");
  EXPECT_EQ(read_synset_mapping(plain).size(), 3u);

  const auto names = put(dir.path() / "names.txt", "tench\ngoldfish\n");
  EXPECT_NE(error_of([&] { read_synset_mapping(names); }).find("line 1: 'tench' is not a WordNet ID"),
            std::string::npos);
  const auto unsorted = put(dir.path() / "unsorted.txt", "n01443537\nn01440764\n");
  EXPECT_NE(error_of([&] {
              read_synset_mapping(unsorted);
            }).find("line 2: 'n01440764' after 'n01443537': ILSVRC2012_IDs follow sorted wnids"),
            std::string::npos);
  const auto twice = put(dir.path() / "twice.txt", "n01440764\nn01440764\n");
  EXPECT_NE(error_of([&] { read_synset_mapping(twice); }).find("line 2"), std::string::npos);
  EXPECT_NE(error_of([&] {
              read_synset_mapping((dir.path() / "none.txt").string());
            }).find("cannot read synset mapping"),
            std::string::npos);
}

TEST(ImagenetFiles, GroundTruthIsOneIdPerLineInValIndexOrder) {
  testing::TempDir dir;
  const auto gt = put(dir.path() / "gt.txt", "490\n361\r\n171\n\n\n");
  EXPECT_EQ(read_validation_ground_truth(gt, 1000), (std::vector<int>{490, 361, 171}));
  // A blank line inside would shift every later label by one: an error, not skipped.
  const auto hole = put(dir.path() / "hole.txt", "490\n\n171\n");
  EXPECT_NE(
      error_of([&] { read_validation_ground_truth(hole, 1000); }).find("line 2: '' is not an ILSVRC2012_ID"),
      std::string::npos);
  EXPECT_NE(error_of([&] {
              read_validation_ground_truth(gt, 400);
            }).find("line 1: '490' is not an ILSVRC2012_ID in [1, 400]"),
            std::string::npos);
  const auto zero = put(dir.path() / "zero.txt", "0\n");
  EXPECT_NE(error_of([&] { read_validation_ground_truth(zero, 1000); }).find("line 1"), std::string::npos);
  const auto word = put(dir.path() / "word.txt", "1\nn01440764\n");
  EXPECT_NE(error_of([&] { read_validation_ground_truth(word, 1000); }).find("line 2: 'n01440764'"),
            std::string::npos);
  const auto empty = put(dir.path() / "empty.txt", "\n");
  EXPECT_NE(error_of([&] { read_validation_ground_truth(empty, 1000); }).find("is empty"), std::string::npos);
}

TEST(ImagenetFiles, LocValSolutionLabelsEachImageByItsFirstBox) {
  testing::TempDir dir;
  const auto csv = put(dir.path() / "LOC_val_solution.csv",
                       "ImageId,PredictionString\n"
                       "ILSVRC2012_val_00008726,n02119789 255 142 454 329 n02119789 44 21 322 295 \n"
                       "ILSVRC2012_val_00000001,n01751748 111 108 193 249 \r\n");
  const auto m = read_loc_val_solution(csv);
  EXPECT_EQ(m, (std::map<std::string, std::string>{{"ILSVRC2012_val_00000001", "n01751748"},
                                                   {"ILSVRC2012_val_00008726", "n02119789"}}));
  const auto twice = put(dir.path() / "twice.csv",
                         "ImageId,PredictionString\nILSVRC2012_val_00000001,n01751748 1 2 3 4\n"
                         "ILSVRC2012_val_00000001,n01751748 1 2 3 4\n");
  EXPECT_NE(
      error_of([&] { read_loc_val_solution(twice); }).find("line 3: 'ILSVRC2012_val_00000001' given twice"),
      std::string::npos);
  const auto bad =
      put(dir.path() / "bad.csv", "ImageId,PredictionString\nILSVRC2012_val_00000001 n01751748\n");
  EXPECT_NE(error_of([&] { read_loc_val_solution(bad); }).find("line 2: expected 'ImageId,nNNNNNNNN"),
            std::string::npos);
}

TEST(ImagenetFiles, ValIndexComesFromTheFileName) {
  EXPECT_EQ(imagenet_val_index("ILSVRC2012_val_00000001.JPEG"), 1u);
  EXPECT_EQ(imagenet_val_index("ILSVRC2012_val_00050000.JPEG"), 50000u);
  EXPECT_EQ(imagenet_val_index("ILSVRC2012_val_00000007.png"), 7u);
  EXPECT_EQ(imagenet_val_index("ILSVRC2012_val_00000007"), 7u);
  EXPECT_EQ(imagenet_val_index("ILSVRC2012_val_.JPEG"), 0u);
  EXPECT_EQ(imagenet_val_index("ILSVRC2012_val_0000000a.JPEG"), 0u);
  EXPECT_EQ(imagenet_val_index("ILSVRC2012_test_00000001.JPEG"), 0u);
  EXPECT_EQ(imagenet_val_index("README.txt"), 0u);
}

TEST(Mit67Files, ImageListKeepsNamesWithSpaces) {
  testing::TempDir dir;
  const auto list = put(dir.path() / "TrainImages.txt", "kitchen/int 474.jpg\r\n\nwine cellar/a_b.jpg  \n");
  EXPECT_EQ(read_image_list(list), (std::vector<std::string>{"kitchen/int 474.jpg", "wine cellar/a_b.jpg"}));
  const auto bad = put(dir.path() / "bad.txt", "kitchen/a.jpg\nb.jpg\n");
  EXPECT_NE(error_of([&] { read_image_list(bad); }).find("line 2: expected 'class/file'"), std::string::npos);
}

// ImageNet's ROOT with train/<wnid>/ and a flat val/ of ILSVRC2012_val_<k>.JPEG.
struct ImagenetRoot {
  testing::TempDir dir;
  stdfs::path root = dir.path() / "imagenet";
  ImagenetRoot() {
    for (const char* w : {"n01443537", "n01440764"})
      for (int i = 0; i < 2; ++i)
        put(root / "train" / w / (std::string(w) + "_" + std::to_string(i) + ".JPEG"));
    for (int k = 1; k <= 3; ++k) put(root / "val" / ("ILSVRC2012_val_0000000" + std::to_string(k) + ".JPEG"));
  }
};

TEST(Layouts, ImagenetDevkitLabelsValByIndexThroughTheMapping) {
  ImagenetRoot in;
  put(in.root / "ILSVRC2012_devkit_t12" / "data" / "ILSVRC2012_validation_ground_truth.txt", "2\n1\n2\n");
  put(in.root / "synsets.txt", "n01440764\nn01443537\n");
  const SourceSet set = collect(Layout::kImagenet, in.root);
  EXPECT_EQ(set.classes, (std::vector<std::string>{"n01440764", "n01443537"}));  // sorted wnids
  EXPECT_EQ(set.train.size(), 4u);
  EXPECT_EQ(labels(set, set.train).count("train/n01440764/n01440764_0.JPEG"), 1u);
  EXPECT_EQ(labels(set, set.val),
            (std::map<std::string, std::string>{{"val/ILSVRC2012_val_00000001.JPEG", "n01443537"},
                                                {"val/ILSVRC2012_val_00000002.JPEG", "n01440764"},
                                                {"val/ILSVRC2012_val_00000003.JPEG", "n01443537"}}));
}

TEST(Layouts, ImagenetKaggleCsvIsFoundAboveIlsvrcDataClsLoc) {
  testing::TempDir dir;
  const stdfs::path root = dir.path() / "ILSVRC" / "Data" / "CLS-LOC";
  for (const char* w : {"n01440764", "n01443537"}) put(root / "train" / w / "a.JPEG");
  put(root / "val" / "ILSVRC2012_val_00000001.JPEG");
  put(root / "val" / "ILSVRC2012_val_00000002.JPEG");
  put(dir.path() / "LOC_val_solution.csv",
      "ImageId,PredictionString\nILSVRC2012_val_00000002,n01440764 1 2 3 4 "
      "\nILSVRC2012_val_00000001,n01443537 1 "
      "2 3 4 \n");
  const SourceSet set = collect(Layout::kImagenet, root);
  EXPECT_EQ(labels(set, set.val),
            (std::map<std::string, std::string>{{"val/ILSVRC2012_val_00000001.JPEG", "n01443537"},
                                                {"val/ILSVRC2012_val_00000002.JPEG", "n01440764"}}));
}

TEST(Layouts, ImagenetValSortedIntoWnidFolders) {
  ImagenetRoot in;
  stdfs::remove_all(in.root / "val");
  put(in.root / "val" / "n01443537" / "ILSVRC2012_val_00000001.JPEG");
  put(in.root / "val" / "n01440764" / "ILSVRC2012_val_00000002.JPEG");
  const SourceSet set = collect(Layout::kImagenet, in.root);
  EXPECT_EQ(labels(set, set.val), (std::map<std::string, std::string>{
                                      {"val/n01443537/ILSVRC2012_val_00000001.JPEG", "n01443537"},
                                      {"val/n01440764/ILSVRC2012_val_00000002.JPEG", "n01440764"}}));
}

TEST(Layouts, ImagenetLabelFilesThatDoNotFitAreErrors) {
  ImagenetRoot in;
  EXPECT_NE(error_of([&] {
              collect(Layout::kImagenet, in.root);
            }).find("but no labels: put ILSVRC2012_validation_ground_truth.txt"),
            std::string::npos);
  const auto gt = put(in.root / "ILSVRC2012_validation_ground_truth.txt", "2\n1\n");
  EXPECT_NE(error_of([&] { collect(Layout::kImagenet, in.root); }).find("but no synset mapping is in"),
            std::string::npos);
  put(in.root / "LOC_synset_mapping.txt", "n01440764 tench\nn01443537 goldfish\nn09999999 unknown\n");
  EXPECT_NE(error_of([&] { collect(Layout::kImagenet, in.root); }).find("has 2 labels but"),
            std::string::npos);
  put(gt, "2\n1\n3\n");
  EXPECT_NE(error_of([&] {
              collect(Layout::kImagenet, in.root);
            }).find("'ILSVRC2012_val_00000003.JPEG' is labelled 'n09999999'"),
            std::string::npos);
  stdfs::remove_all(in.root / "val");
  EXPECT_NE(error_of([&] { collect(Layout::kImagenet, in.root); }).find("val' not found"), std::string::npos);
}

TEST(Layouts, ImagenetTrainStillInTarsIsNamed) {
  testing::TempDir dir;
  put(dir.path() / "r" / "train" / "n01440764.tar");
  put(dir.path() / "r" / "val" / "ILSVRC2012_val_00000001.JPEG");
  EXPECT_NE(error_of([&] { collect(Layout::kImagenet, dir.path() / "r"); }).find("holds 1 .tar archives"),
            std::string::npos);
}

TEST(Layouts, Mit67SplitsByTheOfficialListsAndSkipsMissingFiles) {
  testing::TempDir dir;
  const stdfs::path root = dir.path() / "mit67";
  for (const char* c : {"kitchen", "wine cellar"})
    for (const char* f : {"a b.jpg", "c.jpg", "unlisted.jpg"}) put(root / "Images" / c / f);
  put(root / "TrainImages.txt", "kitchen/a b.jpg\nwine cellar/a b.jpg\nkitchen/gone.jpg\n");
  put(root / "TestImages.txt", "kitchen/c.jpg\r\nwine cellar/c.jpg\r\n");
  const SourceSet set = collect(Layout::kMit67, root);
  EXPECT_EQ(set.classes, (std::vector<std::string>{"kitchen", "wine cellar"}));
  EXPECT_EQ(labels(set, set.train),
            (std::map<std::string, std::string>{{"Images/kitchen/a b.jpg", "kitchen"},
                                                {"Images/wine cellar/a b.jpg", "wine cellar"}}));
  EXPECT_EQ(labels(set, set.val),
            (std::map<std::string, std::string>{{"Images/kitchen/c.jpg", "kitchen"},
                                                {"Images/wine cellar/c.jpg", "wine cellar"}}));
  ASSERT_EQ(set.skipped.size(), 1u);
  EXPECT_EQ(set.skipped[0].first, "Images/kitchen/gone.jpg");
  EXPECT_EQ(set.skipped[0].second, "listed in TrainImages.txt but missing");
  stdfs::remove(root / "TrainImages.txt");
  EXPECT_NE(error_of([&] { collect(Layout::kMit67, root); }).find("TrainImages.txt' not found"),
            std::string::npos);
}

TEST(Layouts, IntelTakesNestedOrSingleLevelSplits) {
  testing::TempDir dir;
  const stdfs::path nested = dir.path() / "intel", flat = dir.path() / "flat";
  for (const char* c : {"forest", "sea"}) {
    put(nested / "seg_train" / "seg_train" / c / "1.jpg");
    put(nested / "seg_test" / "seg_test" / c / "2.jpg");
    put(flat / "seg_train" / c / "1.jpg");
    put(flat / "seg_test" / c / "2.jpg");
  }
  put(nested / "seg_pred" / "seg_pred" / "3.jpg");
  const SourceSet a = collect(Layout::kIntel, nested);
  EXPECT_EQ(a.classes, (std::vector<std::string>{"forest", "sea"}));
  EXPECT_EQ(labels(a, a.val).at("seg_test/seg_test/sea/2.jpg"), "sea");
  EXPECT_EQ(a.train.size() + a.val.size(), 4u);  // seg_pred is not read
  const SourceSet b = collect(Layout::kIntel, flat);
  EXPECT_EQ(labels(b, b.train).at("seg_train/forest/1.jpg"), "forest");
  put(nested / "seg_train" / "street" / "4.jpg");  // both layouts at once
  EXPECT_NE(error_of([&] { collect(Layout::kIntel, nested); }).find("holds both"), std::string::npos);
}

TEST(Layouts, FoldersPreferValThenTestElseSplitOneTree) {
  testing::TempDir dir;
  const stdfs::path root = dir.path() / "sub";
  for (const char* c : {"a", "b"}) {
    for (int i = 0; i < 5; ++i) put(root / "train" / c / (std::to_string(i) + ".jpg"));
    put(root / "test" / c / "t.jpg");
  }
  SourceSet set = collect(Layout::kFolders, root);
  EXPECT_EQ(labels(set, set.val).at("test/b/t.jpg"), "b");
  for (const char* c : {"a", "b"}) put(root / "val" / c / "v.jpg");
  set = collect(Layout::kFolders, root);
  EXPECT_EQ(labels(set, set.val).count("val/a/v.jpg"), 1u);
  EXPECT_EQ(set.val.size(), 2u);
  set = collect(Layout::kFolders, root / "train", 0.4);  // one class-folder tree
  EXPECT_EQ(set.train.size(), 6u);
  EXPECT_EQ(set.val.size(), 4u);
  EXPECT_EQ(labels(set, set.val).begin()->first.substr(0, 2), "a/");
}

TEST(Layouts, OptionsAndCommandLine) {
  PrepOptions cfg;
  EXPECT_EQ(config::parse_prep_args({"--layout", "mit67", "--input", "r", "--out", "o"}, cfg).help, false);
  EXPECT_EQ(cfg.layout, Layout::kMit67);
  EXPECT_NE(error_of([&] {
              config::parse_prep_args({"--layout", "coco", "--out", "o"}, cfg);
            }).find("--layout must be none, imagenet, mit67, intel or folders, got 'coco'"),
            std::string::npos);
  cfg = PrepOptions{};
  cfg.layout = Layout::kImagenet;
  cfg.out = "o";
  EXPECT_NE(error_of([&] { cfg.validate(); }).find("--layout imagenet needs --input ROOT"),
            std::string::npos);
  cfg.input = "r";
  cfg.val_list = "v.txt";
  EXPECT_NE(error_of([&] { cfg.validate(); }).find("drop --list, --root, --val-input and --val-list"),
            std::string::npos);
}

}  // namespace
}  // namespace wisesr::prep
