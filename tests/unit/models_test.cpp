#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "models/classifier.h"
#include "models/heads.h"
#include "test_data.h"
#include "train/checkpoint.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"

namespace wisesr::models {
namespace {

ModelOptions model_config(const std::string& head, const std::string& backbone = "resnet-tiny") {
  ModelOptions c;
  c.head = head;
  c.backbone = backbone;
  return c;
}

TEST(Heads, AutoPoolReproducesThePapersCases) {
  EXPECT_EQ(auto_pool_size(7), 2);   // 224: 7x7 -> 3x3 kernel
  EXPECT_EQ(auto_pool_size(16), 3);  // 512: 16x16 -> 5x5 kernel
  EXPECT_EQ(auto_pool_size(14), 3);
  EXPECT_EQ(auto_pool_size(10), 2);
  EXPECT_EQ(auto_pool_size(8), 2);
  EXPECT_EQ(auto_pool_size(4), 1);
  EXPECT_EQ(auto_pool_size(1), 1);
}

TEST(Heads, FeatureMapIsComputedFromTheImageSize) {
  auto bb = make_backbone("resnet18");
  EXPECT_EQ(bb->feature_size(224), 7);
  EXPECT_EQ(bb->feature_size(512), 16);
  EXPECT_EQ(bb->feature_size(128), 4);
  for (int64_t s : {64, 97, 128, 224}) {
    auto net = make_backbone("resnet-tiny");
    auto y = net->forward(torch::zeros({1, 3, s, s}));
    EXPECT_EQ(y.size(2), net->feature_size(s)) << s;
    EXPECT_EQ(y.size(1), net->out_channels());
  }
}

TEST(Heads, WiseHeadHasThePapersStructure) {
  HeadOptions o;
  o.kind = "wise";
  o.channels = 512;
  o.map_size = 7;
  o.classes = 70;
  auto head = std::dynamic_pointer_cast<WiseHeadImpl>(make_head(o));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->pool_size(), 2);
  EXPECT_EQ(head->kernel_size(), 3);
  EXPECT_EQ(head->depthwise->weight.sizes(), torch::IntArrayRef({512, 1, 3, 3}));
  EXPECT_TRUE(head->depthwise->bias.defined());
  EXPECT_EQ(head->depthwise->bias.abs().max().item<float>(), 0.0f);  // zero bias
  const float sd = head->depthwise->weight.std().item<float>();
  EXPECT_NEAR(sd, 0.01, 0.002);  // N(0, 0.01)
  auto out = head->forward(torch::randn({2, 512, 7, 7}));
  EXPECT_EQ(out.sizes(), torch::IntArrayRef({2, 70}));
  // Wise adds C * k * k + C parameters over GAP's dense layer: 512 * 9 + 512.
  o.kind = "gap";
  auto gap = make_head(o);
  EXPECT_EQ(count_parameters(*head) - count_parameters(*gap), 512 * 9 + 512);
}

TEST(Heads, ClampTouchesOnlyNegativeKernelEntries) {
  HeadOptions o;
  o.channels = 4;
  o.map_size = 4;
  o.classes = 3;
  auto head = std::dynamic_pointer_cast<WiseHeadImpl>(make_head(o));
  torch::NoGradGuard g;
  head->depthwise->weight.copy_(
      torch::linspace(-1, 1, head->depthwise->weight.numel()).view_as(head->depthwise->weight));
  head->depthwise->bias.fill_(-0.5);
  const auto before = head->depthwise->weight.clone();
  head->apply_constraints();
  const auto& w = head->depthwise->weight;
  EXPECT_GE(w.min().item<float>(), 0.0f);
  EXPECT_TRUE(torch::equal(w.masked_select(before > 0), before.masked_select(before > 0)));
  EXPECT_TRUE(torch::all(w.masked_select(before <= 0) == 0).item<bool>());
  EXPECT_TRUE(torch::all(head->depthwise->bias == -0.5).item<bool>()) << "bias must stay free";
}

TEST(Heads, BadOptionsAreClearErrors) {
  EXPECT_THROW(make_backbone("resnet1000"), Error);
  HeadOptions o;
  o.kind = "max";
  o.channels = 4;
  o.map_size = 4;
  o.classes = 2;
  EXPECT_THROW(make_head(o), Error);
  o.kind = "wise";
  o.pool = 5;  // larger than the 4x4 map
  EXPECT_THROW(make_head(o), Error);
}

TEST(Classifier, BothHeadsTrainAStepAndDeterministicInitBySeed) {
  for (const std::string head : {"gap", "wise"}) {
    torch::manual_seed(3);
    auto a = make_classifier(model_config(head), 5, 64);
    torch::manual_seed(3);
    auto b = make_classifier(model_config(head), 5, 64);
    auto pa = a->parameters(), pb = b->parameters();
    for (size_t i = 0; i < pa.size(); ++i) ASSERT_TRUE(torch::equal(pa[i], pb[i]));
    torch::optim::SGD opt(a->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
    auto loss = torch::nn::functional::cross_entropy(a->forward(torch::randn({4, 3, 64, 64})),
                                                     torch::tensor({0, 1, 2, 3}));
    loss.backward();
    opt.step();
    a->apply_constraints();
    EXPECT_TRUE(std::isfinite(loss.item<float>()));
  }
}

TEST(Checkpoint, RoundTripRestoresWeightsAndMeta) {
  testing::TempDir dir;
  torch::manual_seed(1);
  auto model = make_classifier(model_config("wise"), 4, 64);
  train::Optimizer opt(*model, {});
  train::CheckpointMeta meta;
  meta.config_ini = "[model]\nhead = wise\n";
  meta.class_names = {"a", "b", "c", "d"};
  meta.image_size = 64;
  meta.epoch = 3;
  meta.step = 17;
  meta.epoch_sample = 40;
  meta.tool_version = "test";
  const auto path = dir.path() / "c.pt";
  train::save_checkpoint(path, *model, &opt, meta);
  torch::manual_seed(2);
  auto other = make_classifier(model_config("wise"), 4, 64);
  train::CheckpointReader reader(path);
  EXPECT_EQ(reader.meta().class_names, meta.class_names);
  EXPECT_EQ(reader.meta().step, 17);
  EXPECT_EQ(reader.meta().epoch, 3);
  EXPECT_EQ(reader.meta().epoch_sample, 40);
  EXPECT_EQ(reader.meta().config_ini, meta.config_ini);
  reader.load_model(*other);
  auto pa = model->named_parameters(), pb = other->named_parameters();
  for (const auto& kv : pa) EXPECT_TRUE(torch::equal(kv.value(), pb[kv.key()])) << kv.key();
  // A model of another shape does not fit: clear error.
  auto wrong = make_classifier(model_config("wise"), 7, 64);
  EXPECT_THROW(reader.load_model(*wrong), Error);
  try {
    reader.load_model(*wrong);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("head.fc.weight has shape"), std::string::npos) << e.what();
  }
  // A truncated checkpoint is reported, not crashed on.
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  EXPECT_THROW(train::CheckpointReader{path}, Error);
}

TEST(Schedule, StaircaseMatchesThePaper) {
  EXPECT_DOUBLE_EQ(train::staircase_lr(0.045, 0.94, 2, 0), 0.045);
  EXPECT_DOUBLE_EQ(train::staircase_lr(0.045, 0.94, 2, 1), 0.045);
  EXPECT_NEAR(train::staircase_lr(0.045, 0.94, 2, 2), 0.045 * 0.94, 1e-15);
  EXPECT_NEAR(train::staircase_lr(0.045, 0.94, 2, 9), 0.045 * std::pow(0.94, 4), 1e-15);
}

}  // namespace
}  // namespace wisesr::models
