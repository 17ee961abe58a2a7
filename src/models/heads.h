#pragma once
// Classifier heads on top of a (N,C,h,w) feature map, selected by name (--model.head) from
// head_registry() (heads.cpp: the one list of names, with each head's one-line description). Three
// families: GapHeadImpl (global average pool -> [dropout] -> dense), WiseHeadImpl (the depthwise family:
// [avgpool(p x p, stride p, valid)] -> depthwise conv with kernel = the remaining map (valid, bias, no
// activation), optionally clamped >= 0 -> flatten -> [dropout] -> dense; Wise-SrNet, Rahimzadeh et al.
// 2021, is the pooled, clamped one) and AvgFcHeadImpl (avgpool(p) -> flatten -> dense).
// Paper initialisation: depthwise kernel ~ N(0, 0.01), bias 0; dense weight ~ N(0, 0.01), bias 0.
// apply_constraints() implements Keras NonNeg: kernel entries < 0 become 0, the bias stays free.
//
// Usage:
//   HeadOptions o;  o.kind = "wise";  o.channels = 2048;  o.map_size = 7;  o.classes = 1000;
//   std::shared_ptr<HeadImpl> head = make_head(o);   // avgpool 2 -> 3x3 depthwise kernel -> dense
//   ... after every optimizer update: head->apply_constraints();

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace wisesr::models {

struct HeadOptions {
  std::string kind = "wise";
  int64_t channels = 0;
  int64_t map_size = 0;  // side of the (square) backbone feature map
  int64_t classes = 0;
  int64_t pool = 0;       // wise/avg-fc: average-pool size; 0 = auto_pool_size(map_size)
  double dropout = -1.0;  // < 0: the head's default (0.5 for *-dropout heads, else none)
};

class HeadImpl;  // below

/// The head registry: the one list of the names --model.head accepts, how each is built and the line
/// --help shows for it (models/model_options.h); validation and messages come from it too.
struct HeadEntry {
  const char* name;
  std::shared_ptr<HeadImpl> (*make)(const HeadOptions&);
  const char* help;
};
const std::vector<HeadEntry>& head_registry();

/// The registered names, in registry order.
std::vector<std::string> head_names();

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
  GapHeadImpl(int64_t channels, int64_t classes, double dropout);
  torch::Tensor forward(torch::Tensor features) override;

  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear fc{nullptr};
};

/// The depthwise family: dw, dw-nonneg, wise, wise-dropout (pool 1 = no pooling).
class WiseHeadImpl : public HeadImpl {
 public:
  WiseHeadImpl(int64_t channels, int64_t map_size, int64_t classes, int64_t pool, bool nonneg,
               double dropout);
  torch::Tensor forward(torch::Tensor features) override;
  void apply_constraints() override;
  int64_t pool_size() const { return pool_; }
  int64_t kernel_size() const { return kernel_; }
  bool nonneg() const { return nonneg_; }

  torch::nn::AvgPool2d avgpool{nullptr};
  torch::nn::Conv2d depthwise{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  int64_t pool_ = 1;
  int64_t kernel_ = 1;
  bool nonneg_ = true;
};

/// avg-fc: avgpool(p) -> flatten -> dense over C x k x k inputs.
class AvgFcHeadImpl : public HeadImpl {
 public:
  AvgFcHeadImpl(int64_t channels, int64_t map_size, int64_t classes, int64_t pool, double dropout);
  torch::Tensor forward(torch::Tensor features) override;

  torch::nn::AvgPool2d avgpool{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear fc{nullptr};
};

/// Builds the head named in o.kind (from head_registry()); throws naming it (and the valid names) if
/// unknown, or if the pool does not fit the map.
std::shared_ptr<HeadImpl> make_head(const HeadOptions& o);

}  // namespace wisesr::models
