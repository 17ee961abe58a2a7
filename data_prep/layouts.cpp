#include "layouts.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "core/log.h"

namespace wisesr::prep {
namespace {

namespace stdfs = std::filesystem;

std::string trimmed(std::string line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  return line;
}

bool is_wnid(const std::string& s) {
  return s.size() == 9 && s[0] == 'n' &&
         std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_hidden(const stdfs::path& p) { return !p.filename().empty() && p.filename().string()[0] == '.'; }

bool is_dir(const stdfs::path& p) {
  std::error_code ec;
  return stdfs::is_directory(p, ec);
}

bool is_file(const stdfs::path& p) {
  std::error_code ec;
  return stdfs::is_regular_file(p, ec);
}

std::string quoted(const stdfs::path& p) { return "'" + p.string() + "'"; }

std::ifstream open_or_throw(const std::string& file, const char* what) {
  std::ifstream in(file);
  WISESR_CHECK(in.good(), "cannot read ", what, " '", file, "'");
  return in;
}

// The non-hidden entries of `dir` (sorted by name): its subfolders and its other files.
struct Listing {
  std::vector<std::string> folders;
  std::vector<stdfs::path> files;
};

Listing list_dir(const stdfs::path& dir) {
  Listing out;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(dir, ec)) {
    if (is_hidden(e.path())) continue;
    if (e.is_directory(ec))
      out.folders.push_back(e.path().filename().string());
    else
      out.files.push_back(e.path());
  }
  std::sort(out.folders.begin(), out.folders.end());
  std::sort(out.files.begin(), out.files.end());
  return out;
}

// "3 classes (a, b, c)" or, for many, "1000 classes (n01440764 ... n15075141)".
std::string describe_classes(const std::vector<std::string>& classes) {
  std::string s = std::to_string(classes.size()) + (classes.size() == 1 ? " class" : " classes");
  if (classes.empty()) return s;
  s += " (";
  if (classes.size() <= 8) {
    for (size_t i = 0; i < classes.size(); ++i) s += (i ? ", " : "") + classes[i];
  } else {
    s += classes.front() + " ... " + classes.back();
  }
  return s + ")";
}

size_t distinct_labels(const std::vector<LabeledInput>& inputs) {
  std::set<std::string> labels;
  for (const auto& l : inputs) labels.insert(l.label);
  return labels.size();
}

// A class-folder tree at ROOT/sub, with paths stored relative to ROOT.
struct Tree {
  stdfs::path dir;
  std::vector<std::string> classes;
  std::vector<LabeledInput> inputs;
};

Tree scan_tree_under(const stdfs::path& root, const stdfs::path& sub) {
  Tree t;
  t.dir = root / sub;
  t.inputs = scan_class_tree(t.dir.string(), t.classes);
  for (auto& l : t.inputs) l.rel = (sub / l.rel).string();
  return t;
}

// A validation class that training does not have would get a label no training image teaches.
void check_val_classes(const Tree& val, const std::vector<std::string>& train_classes,
                       const stdfs::path& train_dir) {
  const std::set<std::string> known(train_classes.begin(), train_classes.end());
  for (const auto& c : val.classes)
    WISESR_CHECK(known.count(c), "validation class folder ", quoted(val.dir / c), " has no counterpart in ",
                 quoted(train_dir), " (the splits must have the same classes)");
}

std::string split_report(const char* split, const Tree& t) {
  return std::string(split) + " " + quoted(t.dir) + ": " + std::to_string(t.inputs.size()) + " files, " +
         describe_classes(t.classes);
}

// ---- imagenet ---------------------------------------------------------------------------------------

// Where the devkit's and Kaggle's label files are looked for (docs/datasets.md): ROOT, the devkit
// unpacked in ROOT, and (Kaggle, whose images are in <download>/ILSVRC/Data/CLS-LOC) <download>.
std::vector<stdfs::path> imagenet_label_dirs(const stdfs::path& root) {
  std::vector<stdfs::path> dirs{root, root / "ILSVRC2012_devkit_t12" / "data"};
  const stdfs::path abs = stdfs::absolute(root).lexically_normal();
  const stdfs::path norm = abs.filename().empty() ? abs.parent_path() : abs;
  if (norm.filename() == "CLS-LOC" && norm.parent_path().filename() == "Data" &&
      norm.parent_path().parent_path().filename() == "ILSVRC")
    dirs.push_back((root / ".." / ".." / "..").lexically_normal());
  return dirs;
}

std::string find_first(const std::vector<stdfs::path>& dirs, const std::vector<std::string>& names) {
  for (const auto& d : dirs)
    for (const auto& n : names)
      if (is_file(d / n)) return (d / n).string();
  return "";
}

std::string joined(const std::vector<stdfs::path>& dirs) {
  std::string s;
  for (size_t i = 0; i < dirs.size(); ++i) s += (i ? ", " : "") + quoted(dirs[i]);
  return s;
}

const std::vector<std::string> kSynsetMappings{"LOC_synset_mapping.txt", "synsets.txt", "synset_words.txt"};
constexpr const char* kGroundTruth = "ILSVRC2012_validation_ground_truth.txt";
constexpr const char* kValSolution = "LOC_val_solution.csv";

void check_known_wnid(const std::string& wnid, const std::string& image, const std::string& labels_file,
                      const std::set<std::string>& train_classes, const stdfs::path& train_dir) {
  WISESR_CHECK(train_classes.count(wnid), "val image '", image, "' is labelled '", wnid, "' by '",
               labels_file, "', which is not a class folder of ", quoted(train_dir));
}

// Flat val/ labelled by index through the devkit's ground truth and a synset mapping.
std::vector<LabeledInput> label_by_ground_truth(const stdfs::path& root,
                                                const std::vector<stdfs::path>& files,
                                                const std::string& gt_file, const std::string& mapping_file,
                                                const std::set<std::string>& train_classes,
                                                ResolvedInputs& in) {
  const std::vector<std::string> wnids = read_synset_mapping(mapping_file);
  const std::vector<int> ids = read_validation_ground_truth(gt_file, wnids.size());
  std::vector<LabeledInput> out;
  size_t named = 0;
  for (const auto& f : files) named += imagenet_val_index(f.filename().string()) > 0;
  WISESR_CHECK(named == ids.size(), "'", gt_file, "' has ", ids.size(), " labels but ", quoted(root / "val"),
               " holds ", named,
               " ILSVRC2012_val_<k> images: one label per val image, in index order, is needed");
  for (const auto& f : files) {
    const std::string name = f.filename().string(), rel = "val/" + name;
    const uint64_t k = imagenet_val_index(name);
    if (k == 0) {
      in.skipped.emplace_back(rel, "not named ILSVRC2012_val_<index>: no label in '" + gt_file + "'");
      continue;
    }
    WISESR_CHECK(k <= ids.size(), "val image '", name, "' has no line in '", gt_file, "' (", ids.size(),
                 " lines)");
    const std::string& wnid = wnids[static_cast<size_t>(ids[k - 1] - 1)];
    check_known_wnid(wnid, name, gt_file, train_classes, root / "train");
    out.push_back({f.string(), rel, wnid});
  }
  return out;
}

// Flat val/ labelled by name through Kaggle's LOC_val_solution.csv.
std::vector<LabeledInput> label_by_solution(const stdfs::path& root, const std::vector<stdfs::path>& files,
                                            const std::string& csv,
                                            const std::set<std::string>& train_classes, ResolvedInputs& in) {
  const auto labels = read_loc_val_solution(csv);
  std::vector<LabeledInput> out;
  for (const auto& f : files) {
    const std::string name = f.filename().string(), rel = "val/" + name;
    const auto it = labels.find(f.stem().string());
    if (it == labels.end()) {
      in.skipped.emplace_back(rel, "no row in '" + csv + "'");
      continue;
    }
    check_known_wnid(it->second, name, csv, train_classes, root / "train");
    out.push_back({f.string(), rel, it->second});
  }
  if (labels.size() != out.size())
    LOG_WARN("'" << csv << "' labels " << labels.size() << " images, " << out.size()
                 << " of them are in val/");
  return out;
}

// The flat val/ folder: labelled by the devkit's ground truth + mapping, else by Kaggle's CSV.
std::string label_flat_val(const stdfs::path& root, const std::vector<stdfs::path>& files,
                           const std::vector<std::string>& train_classes, ResolvedInputs& in) {
  const auto dirs = imagenet_label_dirs(root);
  const std::string gt = find_first(dirs, {kGroundTruth}), mapping = find_first(dirs, kSynsetMappings),
                    csv = find_first(dirs, {kValSolution});
  const std::set<std::string> known(train_classes.begin(), train_classes.end());
  if (!gt.empty() && !mapping.empty()) {
    in.val = label_by_ground_truth(root, files, gt, mapping, known, in);
    return "labelled by '" + gt + "' through '" + mapping + "'";
  }
  if (!csv.empty()) {
    in.val = label_by_solution(root, files, csv, known, in);
    return "labelled by '" + csv + "'";
  }
  WISESR_CHECK(gt.empty(), "'", gt, "' gives ILSVRC2012_IDs, but no synset mapping is in ", joined(dirs),
               " (LOC_synset_mapping.txt, synsets.txt or synset_words.txt: the wnids in ID order, e.g. `ls ",
               (root / "train").string(), " > ", (root / "synsets.txt").string(), "`",
               find_first(dirs, {"meta.mat"}).empty() ? "" : "; meta.mat is not read", ")");
  WISESR_THROW("--layout imagenet: ", quoted(root / "val"), " holds ", files.size(),
               " files (no <wnid>/ folders) but no labels: put ", kGroundTruth,
               " (devkit) + LOC_synset_mapping.txt or synsets.txt, or ", kValSolution, " (Kaggle) in ",
               joined(dirs), ", or sort val/ into <wnid>/ folders");
}

ResolvedInputs resolve_imagenet(const stdfs::path& root) {
  const stdfs::path train_dir = root / "train", val_dir = root / "val";
  WISESR_CHECK(is_dir(train_dir), "--layout imagenet: ", quoted(train_dir),
               " not found (expected ROOT/train/<wnid>/*.JPEG and ROOT/val/)");
  const Listing train_listing = list_dir(train_dir);
  const auto tars = std::count_if(train_listing.files.begin(), train_listing.files.end(),
                                  [](const stdfs::path& p) { return p.extension() == ".tar"; });
  WISESR_CHECK(!train_listing.folders.empty() || tars == 0, "--layout imagenet: ", quoted(train_dir),
               " holds ", tars,
               " .tar archives and no class folders: extract each <wnid>.tar into ROOT/train/<wnid>/");
  WISESR_CHECK(is_dir(val_dir), "--layout imagenet: ", quoted(val_dir),
               " not found (expected ILSVRC2012_val_*.JPEG or <wnid>/ folders in it)");
  ResolvedInputs in;
  const Tree train = scan_tree_under(root, "train");
  in.classes = train.classes;
  in.train = train.inputs;
  in.train_origin = quoted(train.dir);
  in.separate_val = true;
  const Listing val_listing = list_dir(val_dir);
  WISESR_CHECK(!val_listing.folders.empty() || !val_listing.files.empty(),
               "--layout imagenet: ", quoted(val_dir), " is empty");
  std::string how;
  if (!val_listing.folders.empty()) {
    WISESR_CHECK(val_listing.files.empty(), "--layout imagenet: ", quoted(val_dir),
                 " holds both <wnid>/ folders and ", val_listing.files.size(), " loose files (e.g. '",
                 val_listing.files[0].filename().string(), "'): sort them all or none");
    const Tree val = scan_tree_under(root, "val");
    check_val_classes(val, train.classes, train.dir);
    in.val = val.inputs;
    how = "sorted into <wnid>/ folders";
  } else {
    how = label_flat_val(root, val_listing.files, train.classes, in);
  }
  in.val_origin = quoted(val_dir);
  LOG_RANK0("--layout imagenet: " << split_report("train", train) << "; val " << quoted(val_dir) << ": "
                                  << in.val.size() << " files of " << distinct_labels(in.val) << " classes, "
                                  << how << "; " << in.skipped.size() << " unlabelled (skipped)");
  return in;
}

// ---- mit67 ------------------------------------------------------------------------------------------

// The listed files that exist; the others are skipped (counted, in skipped.tsv) like any unusable input.
std::vector<LabeledInput> listed_inputs(const stdfs::path& root, const std::string& list_name,
                                        ResolvedInputs& in) {
  std::vector<LabeledInput> out;
  for (const auto& line : read_image_list((root / list_name).string())) {
    const stdfs::path file = root / "Images" / line;
    const std::string rel = (stdfs::path("Images") / line).string();
    std::error_code ec;
    if (!stdfs::exists(stdfs::symlink_status(file, ec))) {
      in.skipped.emplace_back(rel, "listed in " + list_name + " but missing");
      continue;
    }
    out.push_back({file.string(), rel, line.substr(0, line.find('/'))});
  }
  return out;
}

ResolvedInputs resolve_mit67(const stdfs::path& root) {
  const char* expected =
      " not found (expected ROOT/Images/<class>/, ROOT/TrainImages.txt and ROOT/TestImages.txt)";
  const stdfs::path images = root / "Images";
  WISESR_CHECK(is_dir(images), "--layout mit67: ", quoted(images), expected);
  for (const char* list : {"TrainImages.txt", "TestImages.txt"})
    WISESR_CHECK(is_file(root / list), "--layout mit67: ", quoted(root / list), expected);
  ResolvedInputs in;
  const Tree all = scan_tree_under(root, "Images");
  in.classes = all.classes;
  in.train = listed_inputs(root, "TrainImages.txt", in);
  const size_t missing_train = in.skipped.size();
  in.val = listed_inputs(root, "TestImages.txt", in);
  in.separate_val = true;
  in.train_origin = quoted(root / "TrainImages.txt");
  in.val_origin = quoted(root / "TestImages.txt");
  const std::set<std::string> known(in.classes.begin(), in.classes.end());
  for (const auto* v : {&in.train, &in.val})
    for (const auto& l : *v)
      WISESR_CHECK(known.count(l.label), "--layout mit67: '", l.rel, "' is not in a class folder of ",
                   quoted(images));
  std::set<std::string> listed;
  for (const auto* v : {&in.train, &in.val})
    for (const auto& l : *v) listed.insert(l.rel);
  const size_t unused = static_cast<size_t>(std::count_if(
      all.inputs.begin(), all.inputs.end(), [&](const LabeledInput& l) { return !listed.count(l.rel); }));
  LOG_RANK0("--layout mit67: " << quoted(images) << ": " << describe_classes(in.classes) << ", "
                               << all.inputs.size() << " files; train (TrainImages.txt) " << in.train.size()
                               << " of " << distinct_labels(in.train) << " classes, val (TestImages.txt) "
                               << in.val.size() << " of " << distinct_labels(in.val)
                               << " classes; listed but missing: " << missing_train << " train, "
                               << in.skipped.size() - missing_train << " val (skipped); " << unused
                               << " files in neither list (not used)");
  return in;
}

// ---- intel ------------------------------------------------------------------------------------------

// Kaggle's archive nests each split in a folder of the same name (seg_train/seg_train/<class>); other
// copies have seg_train/<class>. Either is accepted; both at once is ambiguous.
stdfs::path intel_split(const stdfs::path& root, const std::string& name) {
  const stdfs::path dir = root / name;
  WISESR_CHECK(is_dir(dir), "--layout intel: ", quoted(dir),
               " not found (expected ROOT/seg_train/seg_train/<class>/ and ROOT/seg_test/seg_test/<class>/, "
               "or ROOT/seg_train/<class>/ and ROOT/seg_test/<class>/)");
  if (!is_dir(dir / name)) return name;
  const Listing l = list_dir(dir);
  WISESR_CHECK(l.folders.size() == 1, "--layout intel: ", quoted(dir), " holds both ", quoted(dir / name),
               " and class folders (", l.folders.size() - 1, "): use one layout");
  return stdfs::path(name) / name;
}

ResolvedInputs resolve_intel(const stdfs::path& root) {
  const Tree train = scan_tree_under(root, intel_split(root, "seg_train"));
  const Tree val = scan_tree_under(root, intel_split(root, "seg_test"));
  check_val_classes(val, train.classes, train.dir);
  ResolvedInputs in;
  in.classes = train.classes;
  in.train = train.inputs;
  in.val = val.inputs;
  in.separate_val = true;
  in.train_origin = quoted(train.dir);
  in.val_origin = quoted(val.dir);
  std::string pred;
  if (is_dir(root / "seg_pred")) {
    size_t n = 0;
    std::error_code ec;
    for (auto it = stdfs::recursive_directory_iterator(root / "seg_pred", ec);
         it != stdfs::recursive_directory_iterator(); it.increment(ec))
      n += !it->is_directory(ec);
    pred = "; " + quoted(root / "seg_pred") + ": " + std::to_string(n) + " unlabelled files (not used)";
  }
  LOG_RANK0("--layout intel: " << split_report("train", train) << "; " << split_report("val", val) << pred);
  return in;
}

// ---- folders ----------------------------------------------------------------------------------------

ResolvedInputs resolve_folders(const stdfs::path& root, double val_fraction) {
  WISESR_CHECK(is_dir(root), "--layout folders: ", quoted(root), " not found");
  ResolvedInputs in;
  if (!is_dir(root / "train")) {
    const Tree all = scan_tree_under(root, "");
    in.classes = all.classes;
    in.train = all.inputs;
    in.train_origin = quoted(root);
    LOG_RANK0("--layout folders: no " << quoted(root / "train") << ", so " << quoted(root)
                                      << " is one class-folder tree: " << all.inputs.size() << " files, "
                                      << describe_classes(all.classes) << "; val: --val-fraction "
                                      << val_fraction << " of each class");
    return in;
  }
  const Tree train = scan_tree_under(root, "train");
  in.classes = train.classes;
  in.train = train.inputs;
  in.train_origin = quoted(train.dir);
  std::vector<std::string> val_names;
  for (const char* name : {"val", "valid", "validation", "test"})
    if (is_dir(root / name)) val_names.emplace_back(name);
  if (val_names.empty()) {
    LOG_RANK0("--layout folders: " << split_report("train", train)
                                   << "; no ROOT/val, valid, validation or test: "
                                   << "val is --val-fraction " << val_fraction << " of each class");
    return in;
  }
  const Tree val = scan_tree_under(root, val_names[0]);
  check_val_classes(val, train.classes, train.dir);
  in.val = val.inputs;
  in.separate_val = true;
  in.val_origin = quoted(val.dir);
  std::string ignored;
  for (size_t i = 1; i < val_names.size(); ++i) ignored += "; " + quoted(root / val_names[i]) + " not used";
  LOG_RANK0("--layout folders: " << split_report("train", train) << "; " << split_report("val", val)
                                 << ignored);
  return in;
}

}  // namespace

ResolvedInputs resolve_layout(const PrepOptions& cfg) {
  const stdfs::path root(cfg.input);
  WISESR_CHECK(is_dir(root), "--layout ", to_string(cfg.layout), ": --input ", quoted(root),
               " is not a directory");
  switch (cfg.layout) {
    case Layout::kImagenet:
      return resolve_imagenet(root);
    case Layout::kMit67:
      return resolve_mit67(root);
    case Layout::kIntel:
      return resolve_intel(root);
    case Layout::kFolders:
      return resolve_folders(root, cfg.val_fraction);
    case Layout::kNone:
      break;
  }
  WISESR_THROW("resolve_layout() needs a layout");
}

std::vector<std::string> read_synset_mapping(const std::string& file) {
  std::ifstream in = open_or_throw(file, "synset mapping");
  std::vector<std::string> wnids;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    line = trimmed(line);
    if (line.empty()) continue;
    const std::string wnid = line.substr(0, line.find_first_of(" \t,"));
    WISESR_CHECK(is_wnid(wnid), "synset mapping '", file, "' line ", line_no, ": '", wnid,
                 "' is not a WordNet ID (nNNNNNNNN)");
    WISESR_CHECK(wnids.empty() || wnids.back() < wnid, "synset mapping '", file, "' line ", line_no, ": '",
                 wnid, "' after '", wnids.back(),
                 "': ILSVRC2012_IDs follow sorted wnids, so this is not the ILSVRC2012 mapping");
    wnids.push_back(wnid);
  }
  WISESR_CHECK(!wnids.empty(), "synset mapping '", file, "' is empty");
  return wnids;
}

std::vector<int> read_validation_ground_truth(const std::string& file, size_t ids) {
  std::ifstream in = open_or_throw(file, "ground truth");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(trimmed(line));
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::vector<int> out;
  out.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& s = lines[i];
    const bool digits = !s.empty() && s.size() <= 9 &&
                        std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    const long id = digits ? std::stol(s) : 0;
    WISESR_CHECK(id >= 1 && static_cast<size_t>(id) <= ids, "ground truth '", file, "' line ", i + 1, ": '",
                 s, "' is not an ILSVRC2012_ID in [1, ", ids, "] (the synset mapping's lines)");
    out.push_back(static_cast<int>(id));
  }
  WISESR_CHECK(!out.empty(), "ground truth '", file, "' is empty");
  return out;
}

std::map<std::string, std::string> read_loc_val_solution(const std::string& file) {
  std::ifstream in = open_or_throw(file, "val solution");
  std::map<std::string, std::string> out;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    line = trimmed(line);
    if (line.empty() || (line_no == 1 && line.rfind("ImageId", 0) == 0)) continue;
    const size_t comma = line.find(',');
    const std::string id = comma == std::string::npos ? "" : line.substr(0, comma);
    const std::string rest = comma == std::string::npos ? "" : line.substr(comma + 1);
    const std::string wnid = rest.substr(0, rest.find(' '));
    WISESR_CHECK(!id.empty() && is_wnid(wnid), "val solution '", file, "' line ", line_no,
                 ": expected 'ImageId,nNNNNNNNN x y x y ...'");
    WISESR_CHECK(out.emplace(id, wnid).second, "val solution '", file, "' line ", line_no, ": '", id,
                 "' given twice");
  }
  WISESR_CHECK(!out.empty(), "val solution '", file, "' has no rows");
  return out;
}

uint64_t imagenet_val_index(const std::string& filename) {
  static const std::string kPrefix = "ILSVRC2012_val_";
  if (filename.rfind(kPrefix, 0) != 0) return 0;
  const size_t dot = filename.find('.', kPrefix.size());
  const std::string digits =
      filename.substr(kPrefix.size(), dot == std::string::npos ? dot : dot - kPrefix.size());
  if (digits.empty() || digits.size() > 12 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return 0;
  return std::stoull(digits);
}

std::vector<std::string> read_image_list(const std::string& file) {
  std::ifstream in = open_or_throw(file, "image list");
  std::vector<std::string> out;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    line = trimmed(line);
    if (line.empty()) continue;
    const size_t slash = line.find('/');
    WISESR_CHECK(slash != std::string::npos && slash > 0 && slash + 1 < line.size(), "image list '", file,
                 "' line ", line_no, ": expected 'class/file'");
    out.push_back(line);
  }
  return out;
}

}  // namespace wisesr::prep
