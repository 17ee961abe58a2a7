#include "models/summary.h"

#include "core/strings.h"

#include <ATen/record_function.h>

#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "models/classifier.h"

namespace wisesr::models {
namespace {

int64_t bn_statistics(torch::nn::Module& m) {
  int64_t n = 0;
  for (auto& sub : m.modules()) {
    if (auto* bn = sub->as<torch::nn::BatchNorm2d>()) n += bn->running_mean.numel() + bn->running_var.numel();
  }
  return n;
}

// Multiply-adds of aten::conv2d and aten::linear during one forward pass, observed with RecordFunction
// (the profiler's mechanism), so every backbone is counted without per-architecture formulas.
double traced_flops(ClassifierImpl& model, int64_t image_size) {
  thread_local double macs = 0;
  macs = 0;
  auto handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback([](const at::RecordFunction& fn) -> std::unique_ptr<at::ObserverContext> {
        const std::string_view name = fn.name();
        const auto inputs = fn.inputs();
        if (name == "aten::conv2d" && inputs.size() >= 7 && inputs[0].isTensor() && inputs[1].isTensor()) {
          const auto x = inputs[0].toTensor().sizes(), w = inputs[1].toTensor().sizes();
          const auto stride = inputs[3].toIntVector(), pad = inputs[4].toIntVector(),
                     dil = inputs[5].toIntVector();
          auto out = [&](int d) {
            const int64_t s = stride.size() > 1 ? stride[d] : stride[0], p = pad.size() > 1 ? pad[d] : pad[0],
                          dl = dil.size() > 1 ? dil[d] : dil[0];
            return (x[2 + d] + 2 * p - dl * (w[2 + d] - 1) - 1) / s + 1;
          };
          macs += static_cast<double>(x[0]) * w[0] * out(0) * out(1) * w[1] * w[2] * w[3];
        } else if (name == "aten::linear" && inputs.size() >= 2 && inputs[0].isTensor() &&
                   inputs[1].isTensor()) {
          const auto x = inputs[0].toTensor(), w = inputs[1].toTensor();
          macs += static_cast<double>(x.numel() / x.size(-1)) * w.size(0) * w.size(1);
        }
        return nullptr;
      })
          .needsInputs(true)
          .scopes({at::RecordScope::FUNCTION}));
  {
    torch::NoGradGuard g;
    model.eval();
    model.forward(torch::zeros({1, 3, image_size, image_size}));
  }
  at::removeCallback(handle);
  return 2 * macs;
}

}  // namespace

ModelSummary summarize(const ModelOptions& cfg, int64_t classes, int64_t image_size, bool flops) {
  ModelSummary s;
  s.backbone = cfg.backbone;
  s.head = cfg.head;
  s.classes = classes;
  s.image_size = image_size;
  auto model = make_classifier(cfg, classes, image_size);
  s.channels = model->backbone().out_channels();
  s.map_size = model->backbone().feature_size(image_size);
  if (auto* w = dynamic_cast<WiseHeadImpl*>(&model->head())) {
    s.pool = w->pool_size();
    s.kernel = w->kernel_size();
  }
  s.total = count_parameters(*model);
  for (const auto& p : model->parameters())
    if (p.requires_grad()) s.trainable += p.numel();
  s.backbone_params = count_parameters(model->backbone());
  s.head_params = count_parameters(model->head());
  HeadOptions gap;
  gap.kind = "gap";
  gap.channels = s.channels;
  gap.map_size = s.map_size;
  gap.classes = classes;
  s.head_delta_vs_gap = s.head_params - count_parameters(*make_head(gap));
  s.keras_comparable = s.total + bn_statistics(*model) + model->backbone().keras_conv_bias_params();
  if (flops) s.gflops = traced_flops(*model, image_size) / 1e9;
  return s;
}

std::string format_summary(const ModelSummary& s) {
  const auto n = group_thousands;
  std::ostringstream os;
  os << "model            " << s.backbone << " + " << s.head << ", " << s.classes << " classes, input "
     << s.image_size << "x" << s.image_size << "\n";
  os << "feature map      " << s.channels << " x " << s.map_size << " x " << s.map_size << "\n";
  if (s.kernel > 0) {
    os << "depthwise        pool " << s.pool << "x" << s.pool << " -> kernel " << s.kernel << "x" << s.kernel
       << "\n";
  }
  os << "parameters       " << n(s.total) << " total, " << n(s.trainable) << " trainable\n";
  os << "  backbone       " << n(s.backbone_params) << "\n";
  os << "  head           " << n(s.head_params) << "  (" << (s.head_delta_vs_gap >= 0 ? "+" : "")
     << n(s.head_delta_vs_gap) << " vs gap)\n";
  os << "Keras-comparable " << n(s.keras_comparable)
     << "  (+ BatchNorm moving mean/variance and Keras's conv biases)\n";
  char flops[64];
  std::snprintf(flops, sizeof(flops), "%.3f", s.gflops);
  os << "GFLOPs / image   " << flops << "  (2 x multiply-adds of convolutions and dense layers, forward)\n";
  return os.str();
}

}  // namespace wisesr::models
