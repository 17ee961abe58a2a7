// Grad-CAM (tools/gradcam.h): the channel weights are the spatial means of the class score's gradient with
// respect to the feature map, checked against central finite differences through each head family.
#include <gtest/gtest.h>

#include "models/classifier.h"
#include "tools/gradcam.h"

namespace wisesr::tools {
namespace {

class GradCamGradients : public ::testing::TestWithParam<const char*> {};

TEST_P(GradCamGradients, WeightsEqualFiniteDifferencesOfTheClassScore) {
  models::ModelOptions mo;
  mo.backbone = "resnet-tiny";
  mo.head = GetParam();
  torch::manual_seed(3);
  auto model = models::make_classifier(mo, 3, 96);  // a 3x3 feature map
  model->eval();
  for (auto& p : model->head().parameters())
    p.data().normal_(0, 0.5).abs_();  // away from the N(0, 0.01) start
  model->head().to(torch::kDouble);
  torch::Tensor features;
  {
    torch::NoGradGuard no_grad;
    features = torch::relu(model->backbone().forward(torch::randn({2, 3, 96, 96}))).to(torch::kDouble);
  }
  ASSERT_EQ(features.size(2), 3);
  const torch::Tensor target = torch::tensor({0, 2}, torch::kLong);
  auto [alpha, map] = grad_cam_from_features(model->head(), features, target);
  auto score = [&](const torch::Tensor& f) {
    torch::NoGradGuard no_grad;
    return model->head().forward(f).gather(1, target.view({-1, 1})).squeeze(1);
  };
  const double eps = 1e-5;
  for (int64_t c = 0; c < 6; ++c) {
    torch::Tensor numeric = torch::zeros({2}, torch::kDouble);
    for (int64_t i = 0; i < 3; ++i) {
      for (int64_t j = 0; j < 3; ++j) {
        torch::Tensor up = features.clone(), down = features.clone();
        up.select(1, c).select(1, i).select(1, j).add_(eps);
        down.select(1, c).select(1, i).select(1, j).sub_(eps);
        numeric += (score(up) - score(down)) / (2 * eps) / 9.0;
      }
    }
    for (int64_t n = 0; n < 2; ++n)
      EXPECT_NEAR(alpha[n][c].item<double>(), numeric[n].item<double>(),
                  1e-6 + 1e-5 * std::abs(numeric[n].item<double>()))
          << GetParam() << " image " << n << " channel " << c;
  }
  // The map: ReLU of the alpha-weighted sum of the feature maps.
  const torch::Tensor expect = torch::relu((alpha.view({2, -1, 1, 1}) * features).sum(1));
  EXPECT_TRUE(torch::allclose(map, expect, 1e-9, 1e-12));
}

INSTANTIATE_TEST_SUITE_P(Heads, GradCamGradients, ::testing::Values("gap", "wise", "dw-nonneg", "avg-fc"));

TEST(GradCam, MapsAreInTheUnitRangeAtInputSizeAndTargetsDefaultToThePrediction) {
  models::ModelOptions mo;
  mo.backbone = "resnet-tiny";
  torch::manual_seed(4);
  auto model = models::make_classifier(mo, 4, 64);
  model->eval();
  const auto r = grad_cam(*model, torch::randn({3, 3, 64, 64}), torch::tensor({-1, 1, -1}, torch::kLong));
  ASSERT_EQ(r.cam.sizes(), torch::IntArrayRef({3, 64, 64}));
  EXPECT_GE(r.cam.min().item<float>(), 0.0f);
  EXPECT_LE(r.cam.max().item<float>(), 1.0f);
  EXPECT_EQ(r.target[0].item<int64_t>(), r.probs[0].argmax().item<int64_t>());
  EXPECT_EQ(r.target[1].item<int64_t>(), 1);
}

TEST(GradCam, DisplayRgbInvertsTheCaffeNormalisation) {
  const torch::Tensor rgb = torch::randint(0, 256, {1, 8, 8, 3}, torch::kUInt8);
  // caffe: RGB -> BGR, minus the means (data/augment.h)
  const torch::Tensor x = rgb.permute({0, 3, 1, 2}).to(torch::kFloat).flip({1}) -
                          torch::tensor({103.939, 116.779, 123.68}, torch::kFloat).view({1, 3, 1, 1});
  EXPECT_TRUE(torch::equal(display_rgb(x, data::Normalize::kCaffe), rgb));
}

}  // namespace
}  // namespace wisesr::tools
