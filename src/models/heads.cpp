#include "models/heads.h"

#include "core/error.h"
#include "core/strings.h"
#include "models/model_options.h"

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

int64_t checked_pool(int64_t pool, int64_t map_size) {
  const int64_t p = pool > 0 ? pool : auto_pool_size(map_size);
  WISESR_CHECK(p <= map_size, "pool size ", p, " exceeds the ", map_size, "x", map_size,
               " feature map (use a smaller --model.pool or a larger image size)");
  return p;
}

// Side after valid p x p pooling with stride p.
int64_t pooled(int64_t map_size, int64_t p) { return (map_size - p) / p + 1; }

}  // namespace

int64_t auto_pool_size(int64_t map_size) {
  WISESR_CHECK(map_size >= 1, "feature map size must be >= 1, got ", map_size);
  int64_t p = 1;
  while (map_size / p > 5) ++p;
  return p;
}

GapHeadImpl::GapHeadImpl(int64_t channels, int64_t classes, double p) {
  dropout = register_module("dropout", nn::Dropout(p));
  fc = register_module("fc", make_dense(channels, classes));
}

torch::Tensor GapHeadImpl::forward(torch::Tensor x) { return fc(dropout(x.mean({2, 3}))); }

WiseHeadImpl::WiseHeadImpl(int64_t channels, int64_t map_size, int64_t classes, int64_t pool, bool nonneg,
                           double p)
    : pool_(pool), nonneg_(nonneg) {
  kernel_ = pooled(map_size, pool_);
  avgpool = register_module("avgpool", nn::AvgPool2d(nn::AvgPool2dOptions(pool_).stride(pool_)));
  depthwise = register_module(
      "depthwise", nn::Conv2d(nn::Conv2dOptions(channels, channels, kernel_).groups(channels).bias(true)));
  {
    torch::NoGradGuard g;
    nn::init::normal_(depthwise->weight, 0.0, 0.01);
    nn::init::zeros_(depthwise->bias);
  }
  dropout = register_module("dropout", nn::Dropout(p));
  fc = register_module("fc", make_dense(channels, classes));
}

torch::Tensor WiseHeadImpl::forward(torch::Tensor x) {
  if (pool_ > 1) x = avgpool(x);
  return fc(dropout(depthwise(x).flatten(1)));  // (N, C, 1, 1) -> (N, C)
}

void WiseHeadImpl::apply_constraints() {
  if (!nonneg_) return;
  torch::NoGradGuard g;
  depthwise->weight.clamp_min_(0.0);
}

AvgFcHeadImpl::AvgFcHeadImpl(int64_t channels, int64_t map_size, int64_t classes, int64_t pool, double p) {
  const int64_t k = pooled(map_size, pool);
  avgpool = register_module("avgpool", nn::AvgPool2d(nn::AvgPool2dOptions(pool).stride(pool)));
  dropout = register_module("dropout", nn::Dropout(p));
  fc = register_module("fc", make_dense(channels * k * k, classes));
}

torch::Tensor AvgFcHeadImpl::forward(torch::Tensor x) { return fc(dropout(avgpool(x).flatten(1))); }

namespace {

double dropout_of(const HeadOptions& o, double default_p) { return o.dropout >= 0 ? o.dropout : default_p; }

}  // namespace

const std::vector<HeadEntry>& head_registry() {
  using Ptr = std::shared_ptr<HeadImpl>;
  static const std::vector<HeadEntry> r = {
      {"gap",
       [](const HeadOptions& o) -> Ptr {
         return std::make_shared<GapHeadImpl>(o.channels, o.classes, dropout_of(o, 0.0));
       },
       "global average pool -> dense"},
      {"gap-dropout",
       [](const HeadOptions& o) -> Ptr {
         return std::make_shared<GapHeadImpl>(o.channels, o.classes, dropout_of(o, 0.5));
       },
       "global average pool -> dropout 0.5 -> dense"},
      {"dw",
       [](const HeadOptions& o) -> Ptr {
         return std::make_shared<WiseHeadImpl>(o.channels, o.map_size, o.classes, 1, false,
                                               dropout_of(o, 0.0));
       },
       "depthwise conv, kernel = the whole map (valid, bias) -> dense"},
      {"dw-nonneg",
       [](const HeadOptions& o) -> Ptr {
         return std::make_shared<WiseHeadImpl>(o.channels, o.map_size, o.classes, 1, true,
                                               dropout_of(o, 0.0));
       },
       "dw with the kernel clamped to >= 0 after every update"},
      {"wise",
       [](const HeadOptions& o) -> Ptr {
         return std::make_shared<WiseHeadImpl>(o.channels, o.map_size, o.classes,
                                               checked_pool(o.pool, o.map_size), true, dropout_of(o, 0.0));
       },
       "Wise-SrNet: avgpool(p x p, stride p) -> dw-nonneg on the pooled map -> dense"},
      {"wise-dropout",
       [](const HeadOptions& o) -> Ptr {
         return std::make_shared<WiseHeadImpl>(o.channels, o.map_size, o.classes,
                                               checked_pool(o.pool, o.map_size), true, dropout_of(o, 0.5));
       },
       "wise with dropout 0.5 before the dense layer"},
      {"avg-fc",
       [](const HeadOptions& o) -> Ptr {
         return std::make_shared<AvgFcHeadImpl>(o.channels, o.map_size, o.classes,
                                                checked_pool(o.pool, o.map_size), dropout_of(o, 0.0));
       },
       "avgpool(p x p, stride p) -> flatten -> dense (the paper's Fig. 8b baseline)"},
  };
  return r;
}

std::vector<std::string> head_names() {
  std::vector<std::string> names;
  for (const auto& e : head_registry()) names.push_back(e.name);
  return names;
}

std::string head_help() {
  std::string out;
  for (const auto& e : head_registry()) out += std::string(out.empty() ? "" : "\n") + e.name + ": " + e.help;
  return out;
}

std::shared_ptr<HeadImpl> make_head(const HeadOptions& o) {
  WISESR_CHECK(o.channels > 0 && o.classes > 0 && o.map_size > 0, "invalid head options (channels ",
               o.channels, ", classes ", o.classes, ", map ", o.map_size, ")");
  for (const auto& e : head_registry())
    if (o.kind == e.name) return e.make(o);
  WISESR_THROW("unknown head '", o.kind, "' (valid: ", join(head_names()), ")");
}

}  // namespace wisesr::models
