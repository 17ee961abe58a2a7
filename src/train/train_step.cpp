#include "train/train_step.h"

#include "core/clock.h"
#include "core/error.h"
#include "data/sampler.h"
#include "train/runtime.h"

namespace wisesr::train {

namespace F = torch::nn::functional;

TrainStep::TrainStep(models::Classifier model, Optimizer& optimizer, LossScaler& scaler, comm::GradSync* sync,
                     const torch::Device& device, TrainStepOptions options)
    : model_(std::move(model)),
      optimizer_(optimizer),
      scaler_(scaler),
      sync_(sync),
      device_(device),
      opt_(std::move(options)) {
  WISESR_CHECK(opt_.accum_steps >= 1, "accum_steps must be >= 1, not ", opt_.accum_steps);
  const comm::Communicator* collectives = sync_ && sync_->active() ? &sync_->communicator() : nullptr;
  note_ = graph_unsupported_reason(opt_.cuda_graph, device_, opt_.precision, collectives);
  if (note_.empty() && opt_.accum_steps > 1) {
    // Each micro-batch would need its own input buffers inside one graph; not worth it: accumulation
    // is for batches too large for memory, where launch overhead is small.
    note_ = "gradient accumulation (accum_steps " + std::to_string(opt_.accum_steps) + ")";
    WISESR_CHECK(opt_.cuda_graph != CudaGraph::kOn, "--train.cuda_graph on: ", note_, " is not captured");
  }
  capture_ = note_.empty();
  static_ = capture_ || opt_.force_static;
  if (static_) {
    WISESR_CHECK(!scaler_.enabled(), "static training steps do not support fp16 loss scaling");
    WISESR_CHECK(opt_.accum_steps == 1, "static training steps need accum_steps 1");
    lr_ = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat).device(device_));
  }
}

TrainStep::~TrainStep() = default;

std::string TrainStep::describe() const {
  if (graph_ || capture_)
    return "CUDA graph (captured on this process's step " + std::to_string(opt_.eager_steps + 1) + ")";
  return static_ ? "eager, static inputs (" + note_ + ")" : "eager (" + note_ + ")";
}

void TrainStep::seed_randomness(int64_t step, uint64_t micro) const {
  torch::manual_seed(data::mix64(opt_.seed ^ data::mix64(static_cast<uint64_t>(step) * 4099 + micro) ^
                                 data::mix64(0xA11CE + static_cast<uint64_t>(opt_.rank))));
}

double TrainStep::run(int64_t step, double lr, const NextBatch& next, const PhaseHook& phases) {
  return static_ && !phases ? run_static(step, lr, next) : run_eager(step, lr, next, phases);
}

std::pair<torch::Tensor, torch::Tensor> TrainStep::forward(const torch::Tensor& x, const torch::Tensor& y) {
  torch::Tensor logits;
  {
    AutocastScope autocast(device_, opt_.precision);
    logits = model_->forward(x);
  }
  auto per_sample = F::cross_entropy(
      logits.to(torch::kFloat), y,
      F::CrossEntropyFuncOptions().reduction(torch::kNone).label_smoothing(opt_.label_smoothing));
  return {logits, per_sample};
}

void TrainStep::clip_gradients() {
  if (opt_.clip_grad_norm <= 0) return;
  auto norm = optimizer_.grad_norm();
  optimizer_.scale_grads(torch::clamp_max(opt_.clip_grad_norm / (norm + 1e-6), 1.0));
}

double TrainStep::run_eager(int64_t step, double lr, const NextBatch& next, const PhaseHook& phases) {
  const auto accum = static_cast<uint64_t>(opt_.accum_steps);
  auto phase_end = [&phases](StepPhase p) {
    if (phases) phases(p);
  };
  double wait = 0;
  // Gradients that are all-reduce bucket views stay allocated; otherwise they are dropped and the
  // backward assigns them (one zeroing and one add pass over the parameters less per step).
  if (sync_ && sync_->active()) {
    optimizer_.zero_grad();
  } else {
    optimizer_.clear_grads();
  }
  for (uint64_t m = 0; m < accum; ++m) {
    const auto t0 = Clock::now();
    const data::Batch batch = next();
    wait += seconds_since(t0);
    phase_end(StepPhase::kBatch);
    auto x = batch.images;
    if (opt_.channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
    seed_randomness(step, m);
    if (sync_) sync_->set_sync(m + 1 == accum);
    const auto [logits, per_sample] = forward(x, batch.labels);
    // Skipped corrupt records (zeros, valid = false) carry no loss and are not counted.
    torch::Tensor valid;
    if (batch.num_invalid > 0) valid = batch.valid;
    auto loss = valid.defined() ? (per_sample * valid).sum() / valid.sum().clamp_min(1) : per_sample.mean();
    phase_end(StepPhase::kForward);
    scaler_.scale(accum == 1 ? loss : loss / static_cast<double>(accum)).backward();
    tally_.add(logits.detach(), batch.labels, per_sample.detach(), valid);
  }
  if (sync_) sync_->synchronize();
  phase_end(StepPhase::kBackward);
  const bool finite = !scaler_.enabled() || scaler_.unscale(optimizer_.grads());
  if (finite) {
    clip_gradients();
    optimizer_.step(lr);
    model_->apply_constraints();  // the Wise-SrNet clamp: after every update
  }
  phase_end(StepPhase::kOptimizer);
  return wait;
}

void TrainStep::static_body() {
  optimizer_.zero_grad();
  if (sync_) sync_->set_sync(true);
  const auto [logits, per_sample] = forward(x_, y_);
  // Always the valid-weighted mean: whether a batch holds skipped records is not known at capture.
  auto loss = torch::where(valid_, per_sample, 0.0f).sum() / valid_.sum().clamp_min(1);
  loss.backward();
  tally_.add(logits.detach(), y_, per_sample.detach(), valid_);
  if (sync_) sync_->synchronize();
  clip_gradients();
  optimizer_.step(lr_);
  model_->apply_constraints();
}

double TrainStep::run_static(int64_t step, double lr, const NextBatch& next) {
  const auto t0 = Clock::now();
  const data::Batch batch = next();
  const double wait = seconds_since(t0);
  const auto format =
      opt_.channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  if (opt_.fixed_inputs) {
    if (!x_.defined()) {
      WISESR_CHECK(batch.valid.defined() && batch.images.device() == device_ &&
                       batch.labels.device() == device_ && batch.valid.device() == device_,
                   "fixed_inputs: images, labels and valid must all be on ", device_.str());
      WISESR_CHECK(batch.images.is_contiguous(format), "fixed inputs must be in the step's memory format");
      x_ = batch.images;
      y_ = batch.labels;
      valid_ = batch.valid;
    }
    WISESR_CHECK(batch.images.is_same(x_) && batch.labels.is_same(y_) && batch.valid.is_same(valid_),
                 "fixed_inputs: next() returned other tensors than on the first step");
  } else {
    if (!x_.defined()) {
      x_ = torch::empty_like(batch.images, format);
      y_ = torch::empty_like(batch.labels);
      valid_ = torch::empty_like(batch.valid);
    }
    WISESR_CHECK(batch.images.sizes() == x_.sizes() && batch.labels.sizes() == y_.sizes(),
                 "a static training step got a batch of shape ", batch.images.sizes(), ", not ", x_.sizes());
    x_.copy_(batch.images, /*non_blocking=*/true);
    y_.copy_(batch.labels, /*non_blocking=*/true);
    valid_.copy_(batch.valid, /*non_blocking=*/true);
  }
  lr_.fill_(lr);
  seed_randomness(step, 0);  // a replay reads the generator's seed and offset as they are now
  if (graph_) {
    graph_->replay();
  } else if (capture_ && static_steps_ >= opt_.eager_steps) {
    capture_ = false;
    try {
      // Warms up with this step's batch once (a real step), then captures without running.
      graph_ = std::make_unique<StepGraph>(
          device_, [this] { static_body(); }, /*warmup=*/1);
    } catch (const GraphCaptureError& e) {
      // Fatal on every rank alike (main aborts the job): PyTorch's capture state cannot be unwound, and
      // ranks that went different ways (graph here, eager there) must not train on together.
      WISESR_THROW(e.message(), " (--train.cuda_graph off trains with eager steps)");
    }
  } else {
    static_body();
  }
  ++static_steps_;
  return wait;
}

}  // namespace wisesr::train
