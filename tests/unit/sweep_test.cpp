// `wisesr sweep`'s table parsing (train/sweep.h): rows, the paper's figures, and the precedence of the
// command line over a row over the table.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/cli.h"
#include "test_data.h"
#include "train/sweep.h"

namespace wisesr::train {
namespace {

namespace stdfs = std::filesystem;

TEST(SweepRow, ParsesBackboneHeadPaperFiguresAndOptions) {
  const SweepRow r = parse_sweep_row(
      "  resnet50   wise  paper_params=23,751,622 paper_top1=71.5% paper_top5=0.9 train.batch_size=15 ", 3,
      "t.cfg");
  EXPECT_EQ(r.number, 3);
  EXPECT_EQ(r.id, "resnet50-wise");
  EXPECT_EQ(r.backbone, "resnet50");
  EXPECT_EQ(r.head, "wise");
  ASSERT_TRUE(r.paper_params && r.paper_top1 && r.paper_top5);
  EXPECT_EQ(*r.paper_params, 23751622);
  EXPECT_DOUBLE_EQ(*r.paper_top1, 0.715);
  EXPECT_DOUBLE_EQ(*r.paper_top5, 0.9);
  ASSERT_EQ(r.options.size(), 1u);
  EXPECT_EQ(r.options[0], std::make_pair(std::string("train.batch_size"), std::string("15")));
}

TEST(SweepRow, UnknownFiguresAreAbsentAndIdsCanBeGiven) {
  const SweepRow r = parse_sweep_row("xception gap id=x-gap-keras paper_params=- paper_top1=-", 1, "t.cfg");
  EXPECT_EQ(r.id, "x-gap-keras");
  EXPECT_FALSE(r.paper_params);
  EXPECT_FALSE(r.paper_top1);
  EXPECT_FALSE(r.paper_top5);
}

TEST(SweepRow, BadRowsAreErrorsNamingFileAndRow) {
  auto error = [](const std::string& line) {
    return testing::error_of([&] { parse_sweep_row(line, 2, "t.cfg"); });
  };
  EXPECT_NE(error("resnet50").find("config file 't.cfg': row 2: expected 'row = BACKBONE HEAD"),
            std::string::npos);
  EXPECT_NE(error("resnet50 head=wise").find("expected 'row = BACKBONE HEAD"), std::string::npos);
  EXPECT_NE(error("resnet50 wise paper_top1=1.5").find("paper_top1=1.5 is not an accuracy in [0, 1]"),
            std::string::npos);
  EXPECT_NE(error("resnet50 wise paper_top1=abc").find("'abc' is not a number"), std::string::npos);
  EXPECT_NE(error("resnet50 wise paper_params=12x").find("'12x' is not a parameter count"),
            std::string::npos);
  EXPECT_NE(error("resnet50 wise colour=red").find("unknown key 'colour'"), std::string::npos);
  EXPECT_NE(error("resnet50 wise justaword").find("'justaword' is not key=value"), std::string::npos);
  EXPECT_NE(error("resnet50 wise id=../up").find("cannot name a run directory"), std::string::npos);
  EXPECT_NE(error("resnet50 wise model.head=gap").find("model.head is the row's first or second word"),
            std::string::npos);
}

class SweepTable : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = stdfs::temp_directory_path() / ("wisesr-sweep-unit-" + std::to_string(::getpid()));
    stdfs::create_directories(dir_);
  }
  void TearDown() override { stdfs::remove_all(dir_); }
  std::string write(const std::string& text) {
    const auto path = (dir_ / "table.cfg").string();
    std::ofstream(path) << text;
    return path;
  }
  config::SweepConfig parse(const std::vector<std::string>& args) {
    config::SweepConfig cfg;
    config::parse_sweep_args(args, cfg);
    cfg.validate();
    return cfg;
  }
  stdfs::path dir_;
};

TEST_F(SweepTable, CommandLineOverRowOverTable) {
  const std::string file = write(
      "[train]\nepochs = 5\nbatch_size = 8\n[data]\nimage_size = 64\n"
      "[sweep]\nname = T\nclasses = 4\n"
      "row = resnet-tiny gap train.batch_size=3 train.epochs=7\nrow = resnet-tiny wise\n");
  const auto cfg = parse({"--config", file, "--train.epochs", "2", "--seeds", "3"});
  EXPECT_EQ(cfg.title, "T");
  EXPECT_EQ(cfg.classes, 4);
  EXPECT_EQ(cfg.seeds, 3);
  ASSERT_EQ(cfg.row_lines.size(), 2u);
  const auto rows = resolve_sweep_rows(cfg);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].cfg.model.head, "gap");
  EXPECT_EQ(rows[0].cfg.train.batch_size, 3);  // the row over the table
  EXPECT_EQ(rows[0].cfg.train.epochs, 2);      // the command line over the row
  EXPECT_EQ(rows[1].cfg.model.head, "wise");
  EXPECT_EQ(rows[1].cfg.train.batch_size, 8);  // the table
  EXPECT_EQ(rows[1].cfg.data.image_size, 64);
  EXPECT_GT(rows[0].params, 0);
  EXPECT_GT(rows[1].params, rows[0].params);  // the depthwise kernel
}

TEST_F(SweepTable, RowsSelectsByIdOrNumberInTableOrder) {
  const std::string file = write(
      "[sweep]\nclasses = 3\nrow = resnet-tiny gap\nrow = resnet-tiny wise\nrow = resnet-tiny dw id=dw\n");
  const auto rows = resolve_sweep_rows(parse({"--config", file, "--rows", "dw,1"}));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, "resnet-tiny-gap");
  EXPECT_EQ(rows[1].id, "dw");
  EXPECT_EQ(rows[1].number, 3);
}

TEST_F(SweepTable, DuplicateIdsAndMissingRowsAreErrors) {
  const std::string dup = write("[sweep]\nclasses = 3\nrow = resnet-tiny gap\nrow = resnet-tiny gap\n");
  EXPECT_NE(testing::error_of([&] {
              resolve_sweep_rows(parse({"--config", dup}));
            }).find("row 2: id 'resnet-tiny-gap' is taken by an earlier row"),
            std::string::npos);
  const std::string none = write("[train]\nepochs = 2\n[sweep]\nclasses = 3\n");
  EXPECT_NE(testing::error_of([&] {
              parse({"--config", none});
            }).find("has no [sweep] row ="),
            std::string::npos);
  const std::string bad = write("[sweep]\nclasses = 3\nrows = resnet-tiny gap\n");
  EXPECT_NE(testing::error_of([&] { parse({"--config", bad}); }).find("[sweep]"), std::string::npos);
}

TEST_F(SweepTable, TrainReadsTheSameFileWithoutTheSweepSection) {
  const std::string file =
      write("[train]\nepochs = 4\n[sweep]\nclasses = 3\nrow = resnet-tiny gap\n[model]\nhead = gap\n");
  config::Config cfg;
  config::parse_train_args({"--config", file}, cfg);
  EXPECT_EQ(cfg.train.epochs, 4);
  EXPECT_EQ(cfg.model.head, "gap");  // a section after [sweep] is read again
}

}  // namespace
}  // namespace wisesr::train
