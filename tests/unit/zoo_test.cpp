// The model zoo: every backbone x head builds and runs, the paper's head deltas hold exactly, the
// Keras-comparable totals equal Keras's published ones, torchvision/timm weights give their logits.

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sys/wait.h>
#include <cstdlib>
#include <fstream>

#include "core/error.h"
#include "models/classifier.h"
#include "models/summary.h"
#include "models/weights.h"
#include "test_data.h"

namespace wisesr::models {
namespace {

ModelOptions cfg_of(const std::string& backbone, const std::string& head) {
  ModelOptions c;
  c.backbone = backbone;
  c.head = head;
  return c;
}

class EveryBackbone : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryBackbone, EveryHeadBuildsAndRunsAt224And512) {
  const std::string backbone = GetParam();
  torch::NoGradGuard no_grad;
  for (int64_t size : {224, 512}) {
    auto bb = make_backbone(backbone);
    bb->eval();
    auto features = bb->forward(torch::zeros({1, 3, size, size}));
    ASSERT_EQ(features.size(1), bb->out_channels());
    ASSERT_EQ(features.size(2), bb->feature_size(size)) << backbone << " at " << size;
    ASSERT_EQ(features.size(3), bb->feature_size(size));
    for (const auto& head : head_names()) {
      HeadOptions o;
      o.kind = head;
      o.channels = bb->out_channels();
      o.map_size = bb->feature_size(size);
      o.classes = 7;
      auto h = make_head(o);
      h->eval();
      EXPECT_EQ(h->forward(features).sizes(), torch::IntArrayRef({1, 7}))
          << backbone << "+" << head << "@" << size;
    }
  }
}

TEST_P(EveryBackbone, TrainsAStepWithEveryHead) {
  for (const auto& head : head_names()) {
    torch::manual_seed(1);
    auto model = make_classifier(cfg_of(GetParam(), head), 3, 64);
    torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    auto loss = torch::nn::functional::cross_entropy(model->forward(torch::randn({2, 3, 64, 64})),
                                                     torch::tensor({0, 2}));
    loss.backward();
    opt.step();
    model->apply_constraints();
    EXPECT_TRUE(std::isfinite(loss.item<float>())) << GetParam() << "+" << head;
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, EveryBackbone,
                         ::testing::Values("resnet-tiny", "resnet18", "resnet50", "resnet50v2", "densenet121",
                                           "densenet169", "densenet201", "xception"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(Zoo, HeadDeltasEqualThePapers) {
  EXPECT_EQ(summarize(cfg_of("resnet50", "dw"), 70, 224).head_delta_vs_gap, 102400);
  EXPECT_EQ(summarize(cfg_of("resnet50", "wise"), 70, 224).head_delta_vs_gap, 20480);
  EXPECT_EQ(summarize(cfg_of("xception", "wise"), 67, 512).head_delta_vs_gap, 53248);
  EXPECT_EQ(summarize(cfg_of("resnet50v2", "wise"), 67, 512).head_delta_vs_gap, 53248);
  EXPECT_EQ(summarize(cfg_of("densenet201", "wise"), 67, 512).head_delta_vs_gap, 49920);
  EXPECT_EQ(summarize(cfg_of("densenet169", "wise"), 6, 224).head_delta_vs_gap, 16640);
  auto s = summarize(cfg_of("resnet50", "wise"), 70, 224);
  EXPECT_EQ(s.map_size, 7);
  EXPECT_EQ(s.pool, 2);
  EXPECT_EQ(s.kernel, 3);
  EXPECT_NEAR(s.gflops, 8.2, 0.3);  // ResNet-50 at 224: ~4.1 G multiply-adds
}

TEST(Zoo, KerasComparableTotalsEqualKerasApplications) {
  // keras.applications.*(weights=None, classes=1000).count_params() with the standard GAP top.
  const std::vector<std::pair<std::string, int64_t>> keras = {
      {"resnet50", 25636712},   {"resnet50v2", 25613800},  {"xception", 22910480},
      {"densenet121", 8062504}, {"densenet169", 14307880}, {"densenet201", 20242984}};
  for (const auto& [backbone, total] : keras) {
    EXPECT_EQ(summarize(cfg_of(backbone, "gap"), 1000, 96).keras_comparable, total) << backbone;
  }
  EXPECT_EQ(summarize(cfg_of("resnet50", "gap"), 1000, 96).total, 25557032);  // torchvision's count
}

TEST(Zoo, UnknownNamesAreClearErrors) {
  EXPECT_THROW(cfg_of("resnet1000", "wise").validate(), Error);
  EXPECT_THROW(cfg_of("resnet50", "max").validate(), Error);
  EXPECT_NO_THROW(cfg_of("densenet201", "wise-dropout").validate());
  EXPECT_THROW(make_backbone("resnet1000"), Error);
  EXPECT_EQ(backbone_names().size(), backbone_registry().size());  // one list: names, factories and help
}

// Python with torchvision + timm, found next to the torch the build used (or skipped).
std::string python() { return WISESR_PYTHON; }

int run_python(const std::string& args) {
  return WEXITSTATUS(std::system((python() + " " + args + " >/dev/null").c_str()));
}

class Parity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    status_ = run_python(std::string(WISESR_SOURCE_DIR) + "/tests/python/make_reference.py " +
                         dir_->path().string());
  }
  static void TearDownTestSuite() { delete dir_; }
  void SetUp() override {
    if (status_ == 3 || status_ == 127) {
      GTEST_SKIP() << "no Python with torchvision and timm at " << python()
                   << " (launch/setup.sh installs them)";
    }
    ASSERT_EQ(status_, 0) << "make_reference.py failed";
  }
  static torch::Tensor load_tensor(const std::string& file, const std::string& key) {
    const std::string bytes = [&] {
      std::ifstream in(dir_->path() / file, std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    auto v = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
    return v.toGenericDict().at(key).toTensor();
  }
  void check(const std::string& name, const std::string& fc_key) {
    torch::manual_seed(0);
    auto model = make_classifier(cfg_of(name, "gap"), 10, 160);
    load_backbone_state_dict(model->backbone(), dir_->path() / (name + ".pt"));
    auto& head = dynamic_cast<GapHeadImpl&>(model->head());
    {
      torch::NoGradGuard g;
      head.fc->weight.copy_(load_tensor(name + ".pt", fc_key + ".weight").reshape({10, -1}));
      head.fc->bias.copy_(load_tensor(name + ".pt", fc_key + ".bias"));
    }
    model->eval();
    torch::NoGradGuard g;
    auto ours = model->forward(load_tensor(name + "_input.pt", "x"));
    auto theirs = load_tensor(name + "_logits.pt", "logits");
    EXPECT_LE((ours - theirs).abs().max().item<double>(), 1e-4) << name;
  }
  static testing::TempDir* dir_;
  static int status_;
};
testing::TempDir* Parity::dir_ = nullptr;
int Parity::status_ = -1;

TEST_F(Parity, ResNet50MatchesTorchvision) { check("resnet50", "fc"); }
TEST_F(Parity, DenseNet121MatchesTorchvision) { check("densenet121", "classifier"); }
TEST_F(Parity, XceptionMatchesTimmLegacyXception) { check("xception", "fc"); }
TEST_F(Parity, ResNet50V2MatchesTimm) { check("resnet50v2", "head.fc"); }

TEST_F(Parity, PretrainedErrorsListTheKeys) {
  auto model = make_classifier(cfg_of("resnet18", "wise"), 3, 96);
  try {
    load_backbone_state_dict(model->backbone(), dir_->path() / "resnet50.pt");
    FAIL() << "resnet50 weights accepted by resnet18";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("shape mismatch(es) [layer1.0.conv1.weight has shape"), std::string::npos) << what;
    EXPECT_NE(what.find("unexpected [layer1.0.bn3.bias"), std::string::npos) << what;
  }
  EXPECT_THROW(load_backbone_state_dict(model->backbone(), dir_->path() / "resnet50_input.pt"),
               Error);  // no such keys
}

TEST_F(Parity, ExportLoadsInPython) {
  torch::manual_seed(4);
  auto model = make_classifier(cfg_of("resnet18", "wise"), 5, 96);
  model->apply_constraints();
  const auto out = dir_->path() / "export.pt";
  export_state_dict(*model, out);
  EXPECT_EQ(run_python(std::string(WISESR_SOURCE_DIR) + "/tests/python/check_export.py " + out.string()), 0);
  // And back: the exported backbone loads into a fresh one unchanged.
  auto again = make_classifier(cfg_of("resnet18", "wise"), 5, 96);
  load_backbone_state_dict(again->backbone(), out);
  auto a = model->backbone().named_parameters(), b = again->backbone().named_parameters();
  for (const auto& kv : a) EXPECT_TRUE(torch::equal(kv.value(), b[kv.key()])) << kv.key();
}

}  // namespace
}  // namespace wisesr::models

namespace wisesr::models {
namespace {

TEST(Zoo, ChannelsLastAndBf16AutocastAreSafe) {
  torch::manual_seed(2);
  auto model = make_classifier(cfg_of("resnet18", "wise"), 4, 96);
  model->eval();
  torch::NoGradGuard g;
  auto x = torch::randn({2, 3, 96, 96});
  auto ref = model->forward(x);
  auto cl = model->forward(x.contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_LE((cl - ref).abs().max().item<double>(), 1e-4);
  at::autocast::set_autocast_enabled(at::kCPU, true);
  at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
  auto bf = model->forward(x);
  at::autocast::set_autocast_enabled(at::kCPU, false);
  at::autocast::clear_cache();
  EXPECT_TRUE(torch::isfinite(bf).all().item<bool>());
  EXPECT_LE((bf.to(torch::kFloat) - ref).abs().max().item<double>(),
            0.05 * (1 + ref.abs().max().item<double>()));
}

}  // namespace
}  // namespace wisesr::models
