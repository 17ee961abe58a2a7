#include "train/trainer.h"

#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "models/weights.h"

namespace wisesr::train {
namespace {

// The rank's device, with cuDNN's autotuner on for CUDA (fixed input shapes).
torch::Device prepare_device(DeviceKind preference, const comm::ProcessGroupInfo& info) {
  const torch::Device device = select_device(preference, info);
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  return device;
}

// The model with its initial weights (seeded; the pretrained backbone if any), on the device and in its
// memory format.
models::Classifier build_model(const TrainerOptions& o, int64_t classes, int image_size,
                               const torch::Device& device, bool channels_last) {
  torch::manual_seed(o.seed);
  auto model = models::make_classifier(o.model, classes, image_size);
  if (!o.model.pretrained.empty()) {
    models::load_backbone_state_dict(model->backbone(), o.model.pretrained);
    LOG_RANK0("backbone weights from " << o.model.pretrained << " (head initialised afresh)");
  }
  model->to(device);
  if (channels_last) to_channels_last(*model);
  return model;
}

std::unique_ptr<comm::GradSync> make_grad_sync(const TrainerOptions& o, models::Classifier& model,
                                               comm::Communicator* comm, comm::Communicator& control) {
  if (!comm) return nullptr;
  comm::GradSyncOptions so;
  so.bucket_bytes = static_cast<size_t>(o.comm.bucket_mb * (1 << 20));
  so.first_bucket_bytes = static_cast<size_t>(o.comm.first_bucket_mb * (1 << 20));
  so.single_rank_collectives = o.single_rank_collectives;
  so.check_collectives = o.comm.check_collectives;
  so.check_comm = &control;  // host-side, like the stop-signal agreement
  return std::make_unique<comm::GradSync>(model->parameters(), *comm, so);
}

TrainStepOptions step_options(const TrainerOptions& o, Precision precision, bool channels_last, int rank) {
  TrainStepOptions to;
  to.precision = precision;
  to.channels_last = channels_last;
  to.accum_steps = o.accum_steps;
  to.label_smoothing = o.optim.label_smoothing;
  to.clip_grad_norm = o.optim.clip_grad_norm;
  to.cuda_graph = o.runtime.cuda_graph;
  to.seed = o.seed;
  to.rank = rank;
  to.fixed_inputs = o.fixed_inputs;
  return to;
}

}  // namespace

Trainer::Trainer(const TrainerOptions& o, const comm::ProcessGroupInfo& info, int64_t classes, int image_size)
    : info_(info),
      threads_(configure_threads(o.runtime.threads, info)),
      device_(prepare_device(o.runtime.device, info)),
      precision_(resolve_precision(o.runtime.precision, device_)),
      channels_last_(o.runtime.channels_last && device_.is_cuda()),
      stream_(device_),
      comm_(o.grad_sync ? comm::make_communicator(o.comm.backend, info, device_) : nullptr),
      model_(build_model(o, classes, image_size, device_, channels_last_)),
      parameters_(models::count_parameters(*model_)),
      optimizer_(*model_, o.optim),
      scaler_(device_, precision_ == Precision::kFp16, 65536.0),
      sync_(make_grad_sync(o, model_, comm_.get(), control_)),
      step_(model_, optimizer_, scaler_, sync_.get(), device_,
            step_options(o, precision_, channels_last_, info.rank)) {}

void Trainer::broadcast_state(bool resumed, double loss_scale) {
  if (comm_) {
    comm::broadcast_module(*model_, *comm_);  // identical replicas, whatever each rank's RNG or disk did
    if (resumed)
      for (auto& b : optimizer_.momentum_buffers()) comm_->broadcast(b, 0);
  }
  if (resumed) scaler_.set(loss_scale);
}

std::string Trainer::describe() const {
  std::ostringstream os;
  os << info_.world_size << " rank(s), device " << device_.str() << ", backend "
     << (comm_ ? comm_->name() : "none") << ", " << to_string(precision_)
     << (channels_last_ ? ", channels_last" : "") << ", " << threads_ << " thread(s)/rank";
  return os.str();
}

}  // namespace wisesr::train
