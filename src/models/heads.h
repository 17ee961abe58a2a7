#pragma once
// Classifier heads on top of a (N,C,h,w) feature map.
//  gap : global average pool -> flatten -> [dropout] -> dense
//  wise: Wise-SrNet (Rahimzadeh et al. 2021): avgpool(p x p, stride p, valid) -> depthwise conv with
//        kernel = the remaining map (valid, bias, no activation, kernel ~ N(0, 0.01), bias 0) ->
//        flatten -> [dropout] -> dense. After every optimizer step apply_constraints() clamps the
//        depthwise kernel to >= 0 (Keras NonNeg: kernel only, the bias stays free).
// Dense layers: weight ~ N(0, 0.01), bias 0 (as in the paper).

#include <torch/torch.h>

#include <memory>
#include <string>

namespace wisesr::models {

struct HeadOptions {
  std::string kind = "wise";
  int64_t channels = 0;
  int64_t map_size = 0;  // side of the (square) backbone feature map
  int64_t classes = 0;
  int64_t pool = 0;      // wise: average-pool size; 0 = auto_pool_size(map_size)
  double dropout = 0.0;
};

/// The pool size the paper's cases imply: the smallest p >= 1 with floor(map / p) <= 5.
/// 7 -> 2 (3x3 kernel), 16 -> 3 (5x5), 14 -> 3 (4x4), 10 -> 2 (5x5), 8 -> 2 (4x4), 4 -> 1 (4x4).
int64_t auto_pool_size(int64_t map_size);

class HeadImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor features) = 0;
  /// Re-impose parameter constraints; called after every optimizer update on every rank.
  virtual void apply_constraints() {}
};

class GapHeadImpl : public HeadImpl {
 public:
  explicit GapHeadImpl(const HeadOptions& o);
  torch::Tensor forward(torch::Tensor features) override;

  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear fc{nullptr};
};

class WiseHeadImpl : public HeadImpl {
 public:
  explicit WiseHeadImpl(const HeadOptions& o);
  torch::Tensor forward(torch::Tensor features) override;
  void apply_constraints() override;
  int64_t pool_size() const { return pool_; }
  int64_t kernel_size() const { return kernel_; }

  torch::nn::AvgPool2d avgpool{nullptr};
  torch::nn::Conv2d depthwise{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  int64_t pool_ = 1;
  int64_t kernel_ = 1;
};

/// Builds the head named in o.kind; throws naming it if unknown or if the map is too small.
std::shared_ptr<HeadImpl> make_head(const HeadOptions& o);

}  // namespace wisesr::models
