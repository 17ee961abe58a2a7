#include "models/heads.h"

#include "core/error.h"

namespace wisesr::models {
namespace nn = torch::nn;
namespace {

nn::Linear make_dense(int64_t in, int64_t classes) {
  nn::Linear fc(in, classes);
  torch::NoGradGuard g;
  nn::init::normal_(fc->weight, 0.0, 0.01);
  nn::init::zeros_(fc->bias);
  return fc;
}

}  // namespace

int64_t auto_pool_size(int64_t map_size) {
  WISESR_CHECK(map_size >= 1, "feature map size must be >= 1, got ", map_size);
  int64_t p = 1;
  while (map_size / p > 5) ++p;
  return p;
}

GapHeadImpl::GapHeadImpl(const HeadOptions& o) {
  dropout = register_module("dropout", nn::Dropout(o.dropout));
  fc = register_module("fc", make_dense(o.channels, o.classes));
}

torch::Tensor GapHeadImpl::forward(torch::Tensor x) {
  x = x.mean({2, 3});
  return fc(dropout(x));
}

WiseHeadImpl::WiseHeadImpl(const HeadOptions& o) {
  pool_ = o.pool > 0 ? o.pool : auto_pool_size(o.map_size);
  WISESR_CHECK(pool_ <= o.map_size, "Wise-SrNet pool size ", pool_, " exceeds the ", o.map_size, "x", o.map_size,
               " feature map (use a smaller --model.pool or a larger image size)");
  kernel_ = (o.map_size - pool_) / pool_ + 1;  // valid pooling with stride p
  avgpool = register_module("avgpool", nn::AvgPool2d(nn::AvgPool2dOptions(pool_).stride(pool_)));
  depthwise = register_module(
      "depthwise", nn::Conv2d(nn::Conv2dOptions(o.channels, o.channels, kernel_).groups(o.channels).bias(true)));
  {
    torch::NoGradGuard g;
    nn::init::normal_(depthwise->weight, 0.0, 0.01);
    nn::init::zeros_(depthwise->bias);
  }
  dropout = register_module("dropout", nn::Dropout(o.dropout));
  fc = register_module("fc", make_dense(o.channels, o.classes));
}

torch::Tensor WiseHeadImpl::forward(torch::Tensor x) {
  x = depthwise(avgpool(x)).flatten(1);  // (N, C, 1, 1) -> (N, C)
  return fc(dropout(x));
}

void WiseHeadImpl::apply_constraints() {
  torch::NoGradGuard g;
  depthwise->weight.clamp_min_(0.0);
}

std::shared_ptr<HeadImpl> make_head(const HeadOptions& o) {
  WISESR_CHECK(o.channels > 0 && o.classes > 0 && o.map_size > 0, "invalid head options (channels ", o.channels,
               ", classes ", o.classes, ", map ", o.map_size, ")");
  if (o.kind == "gap") return std::make_shared<GapHeadImpl>(o);
  if (o.kind == "wise") return std::make_shared<WiseHeadImpl>(o);
  WISESR_THROW("unknown head '", o.kind, "' (valid: gap, wise)");
}

}  // namespace wisesr::models
