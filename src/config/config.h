#pragma once
// Plain configuration structs with defaults and validate(). No Boost here: cli.cpp is the only
// Boost.Program_options user. Every field is listed once in visit_fields(), which drives the command
// line, the INI parser, --help and the resolved-config dump, so they cannot drift apart.

#include <cstdint>
#include <string>
#include <vector>

namespace wisesr::config {

struct DataConfig {
  std::string dir;  // directory written by `wisesr prep` (index.json + shards)
  std::string train_split = "train";
  std::string val_split = "val";
  int image_size = 0;               // 0 = the size the shards were prepared at
  int workers = 0;                  // decode threads per rank; 0 = automatic (cores per rank - 1)
  int prefetch = 3;                 // batches decoded ahead per rank
  std::string decode = "auto";      // auto (nvjpeg on a CUDA device when available) | cpu | nvjpeg
  std::string verify = "full";      // before training: full (SHA-256 of every shard) | size (sizes, counts)
  std::string augment = "keras";    // none | flip | keras (the paper's) | imagenet (random-resized-crop)
  std::string normalize = "caffe";  // caffe (the paper's) | imagenet (mean/std, RGB)
  bool hflip = true;                // flip, keras, imagenet recipes
  bool vflip = true;                // flip, keras recipes
  double rotation = 360;            // keras: degrees
  double shift = 0.1;               // keras: width and height shift, fraction of the side
  double zoom = 0.2;                // keras: zoom range
  double channel_shift = 50;        // keras: channel shift range
  double brightness_min = 0.0;      // keras: brightness range
  double brightness_max = 1.2;
  double crop_scale_min = 0.08;   // imagenet: smallest area fraction of the random-resized crop
  int64_t max_bad_records = 100;  // corrupt records skipped (per rank) before the run stops
};

struct ModelConfig {
  std::string backbone = "resnet-tiny";
  std::string head = "wise";  // gap | gap-dropout | dw | dw-nonneg | wise | wise-dropout | avg-fc
  int pool = 0;               // Wise-SrNet average-pool size p; 0 = automatic from the feature-map size
  double dropout = -1.0;      // dropout before the dense layer; -1 = the head's default (0.5 for *-dropout)
  std::string pretrained;     // backbone state_dict saved from Python (torchvision/timm names)
};

struct OptimConfig {
  std::string optimizer = "sgd";  // sgd | lars
  double lr = 0.045;              // the paper's initial learning rate (for ref_batch, when set)
  double momentum = 0.9;
  double weight_decay = 0.0;
  bool wd_exclude_bn_bias = true;      // no weight decay (and no LARS scaling) on 1-D tensors: biases, BN
  std::string schedule = "staircase";  // staircase | step | cosine | constant
  double lr_decay =
      0.94;  // staircase: lr * lr_decay^floor(epoch / lr_decay_epochs); step: factor per milestone
  int lr_decay_epochs = 2;
  std::string milestones = "30,60,80";  // step schedule: epochs at which lr *= lr_decay
  double min_lr = 0.0;                  // cosine: final learning rate
  int ref_batch = 0;                    // linear scaling: lr * global_batch / ref_batch; 0 = no scaling
  double warmup_epochs = 0;             // gradual warmup (per step) from warmup_from * lr to lr
  double warmup_from = -1;              // -1 = ref_batch / global_batch with scaling (Goyal et al.), else 0
  double lars_eta = 0.001;              // LARS trust coefficient
  double label_smoothing = 0.0;
  double clip_grad_norm = 0.0;  // clip the global gradient norm to this; 0 = off
};

struct TrainConfig {
  int epochs = 1;
  int batch_size = 32;    // per rank
  int64_t max_steps = 0;  // stop after this many optimizer steps in total; 0 = run all epochs
  uint64_t seed = 42;
  std::string out_dir = "runs";
  std::string run_name;          // default: <backbone>-<head>
  int log_every = 10;            // steps between progress lines / JSONL records
  std::string device = "auto";   // auto | cpu | cuda
  std::string backend = "auto";  // auto | mpi | nccl
  int threads = 0;               // intra-op threads per rank; 0 = cores / ranks on this node
  bool eval_each_epoch = true;
  int accum_steps = 1;             // micro-batches per optimizer step (gradient accumulation)
  std::string precision = "auto";  // auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16
  bool channels_last = true;       // NHWC activations on CUDA
  std::string cuda_graph = "auto";  // whole-step CUDA graph: auto (where the run allows) | on | off
  double bucket_mb = 25;           // gradient all-reduce bucket size (MiB)
  double first_bucket_mb = 1;      // the first bucket (the last layers) is small to start early
  bool check_collectives = false;  // compare every rank's gradient all-reduce sequence each step (debug)
  std::string resume;              // "" | auto | checkpoint path
  int keep_checkpoints = 3;        // keep the newest K step checkpoints (+ best.pt)
  int64_t checkpoint_every = 0;    // also checkpoint every N steps (mid-epoch); 0 = at epoch ends
  double timeout_s = 60;           // no progress for this long on any rank -> the job ends; 0 = off
  double startup_timeout_s = 600;  // the limit until 3 steps are done (autotuning, graph capture)
  int preempt_exit_code = 0;       // exit status after a signal-triggered checkpoint
  std::string progress = "auto";   // auto (bar on a terminal) | bar | lines
  double lock_stale_s = 300;       // a run lock without heartbeat this long is taken over
  std::string status_file;         // rank 0 writes "<status> <exit code>" here at the end
  std::string fault;               // testing: "<throw|hang|kill|term|slowsave>@<rank>:<step|seconds>"
};

struct Config {
  DataConfig data;
  ModelConfig model;
  OptimConfig optim;
  TrainConfig train;

  /// Throws wisesr::Error naming the first bad option.
  void validate() const;
};

/// Calls f(section, key, member, help) for every option; member is a reference to the field.
template <typename C, typename F>
void visit_fields(C& c, F&& f) {
  f("data", "dir", c.data.dir, "prepared dataset directory (output of 'wisesr prep')");
  f("data", "train_split", c.data.train_split, "split used for training");
  f("data", "val_split", c.data.val_split, "split used for evaluation");
  f("data", "image_size", c.data.image_size,
    "input size in pixels; 0 = the size the shards were prepared at");
  f("data", "workers", c.data.workers, "JPEG decode threads per rank; 0 = automatic");
  f("data", "prefetch", c.data.prefetch, "batches decoded ahead per rank");
  f("data", "decode", c.data.decode,
    "JPEG decoding: auto (nvjpeg when training on a GPU and the build has it, else cpu) | cpu (libjpeg-turbo "
    "threads) | nvjpeg (batched on the GPU; hardware engines where present)");
  f("data", "verify", c.data.verify,
    "before training, check shards against index.json: full (SHA-256, the ranks share the work) | size "
    "(file sizes and record counts only; always done)");
  f("data", "augment", c.data.augment,
    "training augmentation: keras (the paper's ImageDataGenerator) | imagenet (random-resized-crop + "
    "flip) | flip | none");
  f("data", "normalize", c.data.normalize,
    "input normalisation: caffe (BGR minus ImageNet means; the paper's) | imagenet (RGB mean/std)");
  f("data", "hflip", c.data.hflip, "random horizontal flips (keras, imagenet and flip recipes)");
  f("data", "vflip", c.data.vflip, "random vertical flips (keras and flip recipes)");
  f("data", "rotation", c.data.rotation, "keras: rotation range in degrees (paper: 360)");
  f("data", "shift", c.data.shift, "keras: width/height shift range, fraction of the side (paper: 0.1)");
  f("data", "zoom", c.data.zoom, "keras: zoom range (paper: 0.2)");
  f("data", "channel_shift", c.data.channel_shift, "keras: channel shift range (paper: 50)");
  f("data", "brightness_min", c.data.brightness_min, "keras: brightness range minimum (paper: 0)");
  f("data", "brightness_max", c.data.brightness_max, "keras: brightness range maximum (paper: 1.2)");
  f("data", "crop_scale_min", c.data.crop_scale_min, "imagenet: smallest area fraction of the crop");
  f("data", "max_bad_records", c.data.max_bad_records,
    "corrupt records a rank skips (with a warning naming shard and index) before the run stops");
  f("model", "backbone", c.model.backbone,
    "backbone: resnet-tiny | resnet18 | resnet50 | resnet50v2 | densenet121 | densenet169 | densenet201 | "
    "xception");
  f("model", "head", c.model.head,
    "classifier head: gap | gap-dropout | dw | dw-nonneg | wise | wise-dropout | avg-fc");
  f("model", "pool", c.model.pool,
    "Wise-SrNet average-pool size p; 0 = smallest p giving a kernel of at most 5x5");
  f("model", "pretrained", c.model.pretrained,
    "backbone weights: a torchvision/timm state_dict saved with torch.save (the head starts afresh)");
  f("model", "dropout", c.model.dropout,
    "dropout before the dense layer; -1 = the head's default (0.5 for *-dropout)");
  f("optim", "optimizer", c.optim.optimizer, "sgd | lars (layer-wise trust ratio, for batches >= 8k)");
  f("optim", "lr", c.optim.lr,
    "initial learning rate (paper: 0.045); the rate at ref_batch when that is set");
  f("optim", "momentum", c.optim.momentum, "momentum (paper: 0.9)");
  f("optim", "weight_decay", c.optim.weight_decay, "L2 weight decay");
  f("optim", "wd_exclude_bn_bias", c.optim.wd_exclude_bn_bias,
    "no weight decay or LARS scaling for biases and BatchNorm parameters (1-D tensors)");
  f("optim", "schedule", c.optim.schedule, "staircase (paper) | step | cosine | constant");
  f("optim", "lr_decay", c.optim.lr_decay,
    "staircase: factor every lr_decay_epochs (paper: 0.94); step: factor "
    "at each milestone");
  f("optim", "lr_decay_epochs", c.optim.lr_decay_epochs, "staircase: epochs between decays (paper: 2)");
  f("optim", "milestones", c.optim.milestones, "step schedule: comma-separated epochs");
  f("optim", "min_lr", c.optim.min_lr, "cosine schedule: final learning rate");
  f("optim", "ref_batch", c.optim.ref_batch,
    "linear scaling rule: lr x global_batch / ref_batch; 0 = use lr as given");
  f("optim", "warmup_epochs", c.optim.warmup_epochs, "gradual warmup length in epochs (per step); 0 = none");
  f("optim", "warmup_from", c.optim.warmup_from,
    "warmup starts at this fraction of lr; -1 = ref_batch/global_batch when scaling, else 0");
  f("optim", "lars_eta", c.optim.lars_eta, "LARS trust coefficient");
  f("optim", "label_smoothing", c.optim.label_smoothing, "label smoothing in [0, 1)");
  f("optim", "clip_grad_norm", c.optim.clip_grad_norm, "clip the global gradient L2 norm; 0 = off");
  f("train", "epochs", c.train.epochs, "number of epochs");
  f("train", "batch_size", c.train.batch_size, "batch size per rank (global batch = batch_size x ranks)");
  f("train", "max_steps", c.train.max_steps, "stop after this many steps; 0 = all epochs");
  f("train", "seed", c.train.seed, "seed for initialisation, shuffling and augmentation");
  f("train", "out_dir", c.train.out_dir, "directory under which the run directory is created");
  f("train", "run_name", c.train.run_name, "run directory name; default <backbone>-<head>");
  f("train", "log_every", c.train.log_every, "steps between progress lines and metrics records");
  f("train", "device", c.train.device, "auto | cpu | cuda (one GPU per rank, by node-local rank)");
  f("train", "backend", c.train.backend, "gradient all-reduce backend: auto | mpi | nccl");
  f("train", "threads", c.train.threads, "intra-op CPU threads per rank; 0 = cores / ranks on the node");
  f("train", "eval_each_epoch", c.train.eval_each_epoch, "evaluate on the validation split after each epoch");
  f("train", "accum_steps", c.train.accum_steps,
    "micro-batches per optimizer step (gradient accumulation; global batch x this)");
  f("train", "precision", c.train.precision,
    "auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16 (loss scaling)");
  f("train", "channels_last", c.train.channels_last, "NHWC memory format on CUDA");
  f("train", "cuda_graph", c.train.cuda_graph,
    "capture the whole training step as a CUDA graph, replayed once per step: auto (on CUDA with bf16/fp32, "
    "NCCL or one rank, accum_steps 1; eager otherwise) | on (an error where it cannot) | off");
  f("train", "bucket_mb", c.train.bucket_mb, "gradient all-reduce bucket size in MiB (DDP: 25)");
  f("train", "first_bucket_mb", c.train.first_bucket_mb, "size of the first bucket in MiB (DDP: 1)");
  f("train", "check_collectives", c.train.check_collectives,
    "debug: every step, compare the gradient all-reduces (bucket order and sizes) each rank launched and "
    "fail on every rank naming the first difference (one small host all-reduce per step; like "
    "TORCH_DISTRIBUTED_DEBUG=DETAIL)");
  f("train", "resume", c.train.resume,
    "'auto' = newest valid checkpoint of run_name (fresh start if none), or a checkpoint path");
  f("train", "keep_checkpoints", c.train.keep_checkpoints, "newest step checkpoints kept (best.pt is extra)");
  f("train", "checkpoint_every", c.train.checkpoint_every,
    "also checkpoint every N steps; 0 = epoch ends only");
  f("train", "timeout_s", c.train.timeout_s,
    "a rank without progress for this many seconds ends the job (must exceed a checkpoint write); 0 = off");
  f("train", "startup_timeout_s", c.train.startup_timeout_s,
    "the no-progress limit until the first 3 steps are done (cuDNN autotuning, CUDA-graph capture, cold "
    "caches), when larger than --train.timeout_s");
  f("train", "preempt_exit_code", c.train.preempt_exit_code,
    "exit status after a stop signal (SIGTERM, SIGINT, SIGUSR1, SIGUSR2; mpirun's SIGCONT) made every rank "
    "checkpoint and stop");
  f("train", "progress", c.train.progress, "auto (a bar on a terminal) | bar | lines");
  f("train", "lock_stale_s", c.train.lock_stale_s,
    "the run directory's lock is taken over when its holder is gone: same host and pid gone, an earlier "
    "run of the same Slurm job, or no heartbeat for this many seconds (a job that died on another host); "
    "0 = never by age");
  f("train", "status_file", c.train.status_file,
    "rank 0 writes '<status> <exit code>' here when the run ends (completed, max_steps, preempted), for "
    "wrappers such as launch/train.sh: mpirun exits 1 once it has ended a job on SIGTERM/SIGINT, whatever "
    "the ranks returned");
  f("train", "fault", c.train.fault,
    "fault injection for tests: <throw|hang|kill|term>@<rank>:<step> (before that step), or "
    "slowsave@<rank>:<seconds> (each checkpoint that rank writes takes that much longer)");
}

/// The values --data.augment and --data.normalize (and bench data's --augment, --normalize) accept;
/// data/augment.h implements them.
inline const std::vector<std::string> kAugmentRecipes = {"none", "flip", "keras", "imagenet"};
inline const std::vector<std::string> kNormalizations = {"caffe", "imagenet"};
/// --train.cuda_graph and bench train's --cuda-graph; train/step_graph.h implements them.
inline const std::vector<std::string> kCudaGraphModes = {"auto", "on", "off"};
/// --data.decode (and eval's and bench data's --decode); data/device_feed.h implements them.
inline const std::vector<std::string> kDecodeModes = {"auto", "cpu", "nvjpeg"};
/// --train.device / --device, and --train.precision / --precision.
inline const std::vector<std::string> kDevices = {"auto", "cpu", "cuda"};
inline const std::vector<std::string> kPrecisions = {"auto", "fp32", "bf16", "fp16"};

/// Throws "<option> must be a, b or c, got '<value>'" unless value is one of choices.
void check_choice(const std::string& option, const std::string& value,
                  const std::vector<std::string>& choices);

/// The step-schedule milestones ("30,60,80" -> {30, 60, 80}); throws on a malformed list.
std::vector<double> parse_milestones(const std::string& text);

/// A parsed --train.fault: make `rank` throw, hang, die (SIGKILL) or get SIGTERM before optimizer step `step`,
/// or (slowsave) take `step` seconds longer over each checkpoint it writes (tests of failure handling).
struct Fault {
  std::string kind;
  int rank = -1;
  int64_t step = 0;  // slowsave: seconds
};
Fault parse_fault(const std::string& text);

/// Options of `wisesr synth`.
struct SynthConfig {
  std::string out;
  int classes = 8;
  int per_class = 100;
  int size = 128;
  uint64_t seed = 1;
  std::string format = "jpeg";   // jpeg | png
  std::string task = "spatial";  // spatial (label = layout) | texture (label = pattern, anywhere)
  void validate() const;
};

/// Options of `wisesr prep`.
struct PrepConfig {
  std::string input;        // class-folder tree (root/<class>/.../<image>)
  std::string list;         // or: list file "path<TAB>label" / "path,label"
  std::string root;         // base of relative list paths (default: the list file's directory)
  std::string val_input;    // separate validation tree ...
  std::string val_list;     // ... or list; otherwise --val-fraction of the training source
  std::string class_index;  // one class name per line: fixes the class order
  std::string out;
  int size = 224;
  std::string resize = "squash";  // squash | center-crop | short-side
  std::string storage = "jpeg";   // jpeg | raw
  double val_fraction = 0.2;
  uint64_t seed = 1;
  int quality = 90;
  uint64_t shard_records = 0;  // records per shard; 0 = by --shard-mb
  double shard_mb = 256;       // payload MiB per shard (when --shard-records is 0)
  int threads = 0;
  bool strict = false;
  bool dry_run = false;
  void validate() const;
};

/// Options of `wisesr verify`.
struct VerifyConfig {
  std::string dir;
  int threads = 0;
  void validate() const;
};

/// Options of `wisesr params`.
struct ParamsConfig {
  std::string model = "resnet50";
  std::string head = "wise";
  int classes = 1000;
  int image_size = 224;
  int pool = 0;
  void validate() const;
};

/// Options of `wisesr export`.
struct ExportConfig {
  std::string checkpoint;
  std::string out;
  void validate() const;
};

/// Options of `wisesr eval`.
struct EvalConfig {
  std::string checkpoint;
  std::string data;
  std::string split = "val";
  int batch_size = 64;
  std::string device = "auto";
  std::string decode = "auto";  // auto | cpu | nvjpeg, as --data.decode
  int threads = 0;
  std::string json;  // also write the result as JSON to this file
  void validate() const;
};

/// Options of `wisesr bench train`: training throughput on synthetic data (tools/train_bench.h).
struct BenchTrainConfig {
  std::string model = "resnet50";
  std::string head = "wise";
  int image_size = 224;
  int batch = 64;  // per rank
  int classes = 1000;
  int pool = 0;
  int steps = 50;            // timed steps (after the warm-up)
  int warmup = 10;           // untimed steps first (cuDNN autotuning, allocator growth)
  int breakdown_steps = 10;  // extra steps with a device sync between phases; 0 = no breakdown
  std::string precision = "auto";
  bool channels_last = true;  // on CUDA only, as in training
  std::string device = "auto";
  std::string sync = "auto";  // none (no GradSync) | auto | nccl | mpi
  std::string cuda_graph = "auto";  // auto (where the configuration allows) | on | off
  std::string data;                 // prepared shards to train from instead of the synthetic batch
  std::string split = "train";
  std::string augment = "keras";    // with data: the training augmentation
  std::string decode = "auto";      // with data: auto | cpu | nvjpeg, as --data.decode
  int workers = 0;                  // with data: decode threads per rank; 0 = cores per rank - 1
  int threads = 0;
  uint64_t seed = 42;
  std::string json;  // also write the result as JSON here
  void validate() const;
};

/// Options of `wisesr bench data`: input-pipeline throughput (tools/data_bench.h).
struct BenchDataConfig {
  std::string data;  // prepared dataset directory
  std::string split = "train";
  int image_size = 0;  // output side; 0 = as stored
  int batch = 64;
  int batches = 20;  // timed batches per mode
  int warmup = 3;    // untimed batches first
  int threads = 0;   // decode threads (the core count of img/s/core); 0 = all cores
  int prefetch = 3;
  std::string augment = "keras";  // the recipe measured next to plain decoding
  std::string normalize = "caffe";
  std::string device = "cpu";  // cpu: transform on the CPU | cuda: pinned copy + GPU transform
  std::string decode = "auto";  // auto | cpu | nvjpeg, as --data.decode
  uint64_t seed = 42;
  std::string json;
  void validate() const;
};

/// Options of `wisesr bench comm`: all-reduce timing across all ranks (tools/comm_bench.h).
struct BenchCommConfig {
  std::string sizes = "1K,1M,64M";  // message sizes in bytes, K/M/G = 2^10/2^20/2^30
  int iters = 20;
  int warmup = 5;
  std::string backend = "auto";  // auto | nccl | mpi
  std::string dtype = "float";   // float | bf16
  std::string json;
  void validate() const;
};

/// Message sizes such as "1K,64K,1M" -> bytes {1024, 65536, 1048576}; throws on a malformed list.
std::vector<int64_t> parse_sizes(const std::string& text);

}  // namespace wisesr::config
