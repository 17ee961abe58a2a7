#include "config/cli.h"

#include <boost/program_options.hpp>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>
#include <type_traits>

#include "core/error.h"

namespace po = boost::program_options;

namespace wisesr::config {
namespace {

template <typename T>
std::string format_value(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else if constexpr (std::is_floating_point_v<T>) {
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof(buf), v);  // shortest round-trip form
    return std::string(buf, res.ptr);
  } else {
    std::ostringstream os;
    os << v;
    return os.str();
  }
}

template <typename T>
po::typed_value<T>* bound(T& member) {
  auto* v = po::value<T>(&member)->default_value(member, format_value(member));
  return v;
}

// Runs the parse, turning Boost's exceptions into one-line wisesr errors that name the subcommand.
template <typename Fn>
void guarded(const std::string& command, Fn&& fn) {
  try {
    fn();
  } catch (const po::error& e) {
    WISESR_THROW(e.what(), " (see 'wisesr ", command, " --help')");
  }
}

po::variables_map parse_command_line(const std::vector<std::string>& args,
                                     const po::options_description& desc,
                                     const po::positional_options_description* positional = nullptr) {
  po::variables_map vm;
  // Without a positional description a stray word is an error rather than silently ignored.
  po::positional_options_description none;
  po::store(po::command_line_parser(args).options(desc).positional(positional ? *positional : none).run(),
            vm);
  return vm;
}

std::string help_for(const std::string& usage, const po::options_description& desc) {
  std::ostringstream os;
  os << usage << "\n\n" << desc;
  return os.str();
}

void add_config_fields(po::options_description& desc, Config& cfg) {
  visit_fields(cfg, [&](const char* section, const char* key, auto& member, const char* help) {
    const std::string name = std::string(section) + "." + key;
    desc.add_options()(name.c_str(), bound(member), help);
  });
}

}  // namespace

Parsed parse_train_args(const std::vector<std::string>& args, Config& cfg) {
  Parsed out;
  std::string config_file;
  po::options_description general("General");
  general.add_options()("help,h", "show this help")(
      "config", po::value<std::string>(&config_file),
      "INI file ([section] key = value); the command line overrides it");
  po::options_description fields("Training options (also valid as [section] key = value in the INI file)");
  add_config_fields(fields, cfg);
  po::options_description all;
  all.add(general).add(fields);
  guarded("train", [&] {
    po::variables_map vm = parse_command_line(args, all);
    if (vm.count("help")) {
      out.help = true;
      out.help_text = help_for(
          "Usage: mpirun -np N wisesr train --config FILE [--section.key value ...]\n"
          "Train a classifier on prepared shards; one process per GPU (or per CPU slot without GPUs).",
          all);
      return;
    }
    if (vm.count("config")) {
      const std::string file = vm["config"].as<std::string>();
      std::ifstream in(file);
      WISESR_CHECK(in.good(), "cannot read config file '", file, "'");
      try {
        po::store(po::parse_config_file(in, fields, /*allow_unregistered=*/false), vm);
      } catch (const po::error& e) {
        WISESR_THROW("config file '", file, "': ", e.what());
      }
    }
    po::notify(vm);
  });
  return out;
}

Config from_ini(const std::string& text) {
  Config cfg;
  po::options_description fields;
  add_config_fields(fields, cfg);
  std::istringstream in(text);
  guarded("train", [&] {
    po::variables_map vm;
    po::store(po::parse_config_file(in, fields, /*allow_unregistered=*/true), vm);
    po::notify(vm);
  });
  return cfg;
}

std::string to_ini(const Config& cfg) {
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> sections;
  std::vector<std::string> order;
  visit_fields(cfg, [&](const char* section, const char* key, const auto& member, const char*) {
    if (!sections.count(section)) order.push_back(section);
    sections[section].emplace_back(key, format_value(member));
  });
  std::ostringstream os;
  for (const auto& s : order) {
    os << "[" << s << "]\n";
    for (const auto& [k, v] : sections[s]) os << k << " = " << v << "\n";
    os << "\n";
  }
  return os.str();
}

namespace {

// Parses a subcommand whose options are all in desc (plus --help); stores into the bound members.
Parsed parse_simple(const std::string& command, const char* usage, po::options_description& desc,
                    const std::vector<std::string>& args,
                    const po::positional_options_description* positional = nullptr) {
  Parsed out;
  desc.add_options()("help,h", "show this help");
  guarded(command, [&] {
    po::variables_map vm = parse_command_line(args, desc, positional);
    if (vm.count("help")) {
      out.help = true;
      out.help_text = help_for(usage, desc);
      return;
    }
    po::notify(vm);
  });
  return out;
}

}  // namespace

Parsed parse_eval_args(const std::vector<std::string>& args, EvalConfig& cfg) {
  po::options_description desc("Options");
  desc.add_options()("checkpoint", po::value(&cfg.checkpoint)->required(),
                     "checkpoint file written by 'wisesr train'")("data", po::value(&cfg.data)->required(),
                                                                  "prepared dataset directory")(
      "split", bound(cfg.split), "split to evaluate")("batch_size", bound(cfg.batch_size),
                                                      "batch size per rank")(
      "device", bound(cfg.device), "auto | cpu | cuda")(
      "decode", bound(cfg.decode), "JPEG decoding: auto | cpu | nvjpeg (as --data.decode of train)")(
      "threads", bound(cfg.threads), "intra-op threads per rank; 0 = automatic")(
      "json", po::value(&cfg.json), "also write the result as JSON to this file");
  return parse_simple("eval",
                      "Usage: [mpirun -np N] wisesr eval --checkpoint FILE --data DIR\n"
                      "Top-1/top-5 accuracy and loss over a split; every sample is counted exactly once.",
                      desc, args);
}

Parsed parse_synth_args(const std::vector<std::string>& args, SynthConfig& cfg) {
  po::options_description desc("Options");
  desc.add_options()("out", po::value(&cfg.out)->required(), "output directory (one subfolder per class)")(
      "classes", bound(cfg.classes), "number of classes (2..24)")(
      "per-class", bound(cfg.per_class), "images per class")("size", bound(cfg.size), "image side in pixels")(
      "seed", bound(cfg.seed), "random seed")("format", bound(cfg.format), "jpeg | png")(
      "task", bound(cfg.task),
      "spatial: the label is where the shapes are, not what they are; texture: the label is which pattern, "
      "drawn anywhere");
  return parse_simple(
      "synth",
      "Usage: wisesr synth --out DIR [--task spatial|texture --classes K --per-class N --size S --seed X]\n"
      "Write a synthetic image-folder dataset (benchmarks for GAP vs Wise-SrNet, docs/datasets.md).",
      desc, args);
}

Parsed parse_prep_args(const std::vector<std::string>& args, PrepConfig& cfg) {
  po::options_description desc("Options");
  desc.add_options()("input", po::value(&cfg.input),
                     "training images: one subfolder per class (nested folders allowed)")(
      "list", po::value(&cfg.list),
      "training list instead of --input: lines 'path<TAB>label' or 'path,label'")(
      "root", po::value(&cfg.root),
      "base directory of relative list paths (default: the list file's directory)")(
      "val-input", po::value(&cfg.val_input), "separate validation folder tree")(
      "val-list", po::value(&cfg.val_list), "separate validation list (e.g. ImageNet val)")(
      "class-index", po::value(&cfg.class_index),
      "file with one class name per line, fixing label order (default: sorted folder names/labels)")(
      "out", po::value(&cfg.out)->required(), "output directory for shards and index.json")(
      "size", bound(cfg.size), "stored image side (short side with --resize short-side)")(
      "resize", bound(cfg.resize),
      "squash (the paper's) | center-crop | short-side (keep aspect, crop at train time)")(
      "storage", bound(cfg.storage), "jpeg (re-encoded) | raw (uint8 RGB, no decode at train time)")(
      "quality", bound(cfg.quality), "JPEG quality")(
      "val-fraction", bound(cfg.val_fraction),
      "without a separate validation source: stratified fraction of each class held out")(
      "seed", bound(cfg.seed), "seed of the train/val split and record order")(
      "shard-mb", bound(cfg.shard_mb), "target payload size of a shard in MiB")(
      "shard-records", bound(cfg.shard_records), "records per shard instead of --shard-mb (0 = by size)")(
      "threads", bound(cfg.threads), "decode/encode threads; 0 = all cores")(
      "strict", po::bool_switch(&cfg.strict), "fail on the first unusable input instead of skipping it")(
      "dry-run", po::bool_switch(&cfg.dry_run),
      "print counts per class and the expected size, write nothing");
  return parse_simple("prep",
                      "Usage: wisesr prep (--input DIR | --list FILE) --out DIR --size S [options]\n"
                      "Convert images into train/val HDF5 shards plus index.json (docs/shard-format.md).\n"
                      "Unusable inputs are skipped and listed in skipped.tsv; an interrupted prep resumes\n"
                      "when re-run with the same options.",
                      desc, args);
}

Parsed parse_verify_args(const std::vector<std::string>& args, VerifyConfig& cfg) {
  po::options_description desc("Options");
  desc.add_options()("dir", po::value(&cfg.dir)->required(), "prepared dataset directory (also positional)")(
      "threads", bound(cfg.threads), "decode threads; 0 = all cores");
  po::positional_options_description pos;
  pos.add("dir", 1);
  return parse_simple(
      "verify",
      "Usage: wisesr verify DIR\n"
      "Check index.json against the shards (counts, SHA-256) and decode every record; exit 0 only if\n"
      "everything is intact.",
      desc, args, &pos);
}

Parsed parse_params_args(const std::vector<std::string>& args, ParamsConfig& cfg) {
  po::options_description desc("Options");
  desc.add_options()("model", bound(cfg.model), "backbone (see 'wisesr train --help', --model.backbone)")(
      "head", bound(cfg.head), "head: gap | gap-dropout | dw | dw-nonneg | wise | wise-dropout | avg-fc")(
      "classes", bound(cfg.classes), "number of classes")(
      "image-size", bound(cfg.image_size), "input side in pixels")("pool", bound(cfg.pool),
                                                                   "wise/avg-fc pool size; 0 = automatic");
  return parse_simple(
      "params",
      "Usage: wisesr params --model M --head H --classes C --image-size S\n"
      "Parameter counts (total, head, delta over GAP, Keras-comparable), feature map and FLOPs.",
      desc, args);
}

Parsed parse_export_args(const std::vector<std::string>& args, ExportConfig& cfg) {
  po::options_description desc("Options");
  desc.add_options()("checkpoint", po::value(&cfg.checkpoint)->required(),
                     "checkpoint written by 'wisesr train'")("out", po::value(&cfg.out)->required(),
                                                             "output file for Python's torch.load");
  return parse_simple(
      "export",
      "Usage: wisesr export --checkpoint FILE --out FILE.pt\n"
      "Write trained weights as a state_dict that Python's torch.load reads; backbone keys use\n"
      "torchvision/timm names (load with strict=False), head keys start with 'wisesr_head.'.",
      desc, args);
}

Parsed parse_bench_train_args(const std::vector<std::string>& args, BenchTrainConfig& cfg) {
  po::options_description desc("Options");
  bool synthetic = true;
  desc.add_options()("model", bound(cfg.model), "backbone (see 'wisesr train --help', --model.backbone)")(
      "head", bound(cfg.head), "head: gap | gap-dropout | dw | dw-nonneg | wise | wise-dropout | avg-fc")(
      "image-size", bound(cfg.image_size), "input side in pixels")(
      "batch", bound(cfg.batch), "batch size per rank")("classes", bound(cfg.classes), "number of classes")(
      "pool", bound(cfg.pool), "wise/avg-fc pool size; 0 = automatic")(
      "steps", bound(cfg.steps), "timed steps (img/s = batch / median step time)")(
      "warmup", bound(cfg.warmup), "untimed steps before them (cuDNN autotuning, allocator growth)")(
      "breakdown-steps", bound(cfg.breakdown_steps),
      "extra steps with a device sync after each phase for the forward / backward+sync / optimizer "
      "breakdown; 0 = none")("precision", bound(cfg.precision),
                             "auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16 (loss scaling)")(
      "channels-last", bound(cfg.channels_last), "NHWC memory format (CUDA only, as in training)")(
      "device", bound(cfg.device), "auto | cpu | cuda")(
      "sync", bound(cfg.sync),
      "gradient sync: none (no GradSync at all) | auto | nccl | mpi (GradSync over all ranks, as in "
      "training)")(
      "cuda-graph", bound(cfg.cuda_graph),
      "capture the whole step as one CUDA graph and replay it: auto (on CUDA with bf16/fp32 and sync none or "
      "nccl) | on (error where impossible) | off")(
      "threads", bound(cfg.threads), "intra-op CPU threads; 0 = cores / ranks on the node")(
      "seed", bound(cfg.seed), "seed of the weights and the synthetic batch")(
      "synthetic", po::bool_switch(&synthetic), "random input made once on the device (the default)")(
      "data", bound(cfg.data),
      "train from these prepared shards instead (the trainer's input pipeline; reports the data-wait "
      "fraction)")("split", bound(cfg.split), "with --data: the split to read")(
      "augment", bound(cfg.augment), "with --data: keras | imagenet | flip | none")(
      "decode", bound(cfg.decode), "with --data: auto | cpu | nvjpeg")(
      "workers", bound(cfg.workers), "with --data: decode threads per rank; 0 = cores per rank - 1")(
      "json", po::value(&cfg.json), "also write the result as JSON to this file");
  return parse_simple(
      "bench train",
      "Usage: wisesr bench train --model M --head H --image-size S --batch B [--steps N --warmup W ...]\n"
      "Training throughput on a synthetic batch with the trainer's step (autocast forward, cross-entropy,\n"
      "backward with GradSync, SGD, Wise-SrNet clamp): img/s from the median step time, a\n"
      "forward / backward+sync / optimizer breakdown and peak device memory. With --data DIR the batches\n"
      "come from prepared shards through the trainer's input pipeline instead (real vs synthetic input).",
      desc, args);
}

Parsed parse_bench_data_args(const std::vector<std::string>& args, BenchDataConfig& cfg) {
  po::options_description desc("Options");
  desc.add_options()("data", po::value(&cfg.data)->required(), "prepared dataset directory ('wisesr prep')")(
      "split", bound(cfg.split), "split to read")("image-size", bound(cfg.image_size),
                                                  "output side in pixels; 0 = as stored")(
      "batch", bound(cfg.batch), "batch size")("batches", bound(cfg.batches), "timed batches per mode")(
      "warmup", bound(cfg.warmup), "untimed batches before them")(
      "threads", bound(cfg.threads), "decode threads, the 'cores' of img/s/core; 0 = all cores")(
      "prefetch", bound(cfg.prefetch), "batches decoded ahead")(
      "augment", bound(cfg.augment), "recipe timed next to plain decoding: keras | imagenet | flip | none")(
      "normalize", bound(cfg.normalize), "caffe | imagenet")(
      "device", bound(cfg.device),
      "cpu (transform on the CPU) | cuda (pinned batches, async copy, transform on the GPU)")(
      "decode", bound(cfg.decode),
      "auto (nvjpeg with --device cuda when available) | cpu (libjpeg-turbo threads) | nvjpeg (GPU)")(
      "seed", bound(cfg.seed), "augmentation seed")("json", po::value(&cfg.json),
                                                    "also write the result as JSON to this file");
  return parse_simple(
      "bench data",
      "Usage: wisesr bench data --data DIR [--image-size S --threads N --augment keras --device cpu|cuda\n"
      "                         --decode auto|cpu|nvjpeg]\n"
      "Input-pipeline throughput on prepared shards: read (pread) + JPEG decode + transform, in img/s and\n"
      "img/s per decode thread, for plain decoding (normalisation only) and for the augmentation recipe,\n"
      "side by side in one run.",
      desc, args);
}

Parsed parse_bench_comm_args(const std::vector<std::string>& args, BenchCommConfig& cfg) {
  po::options_description desc("Options");
  desc.add_options()("sizes", bound(cfg.sizes),
                     "message sizes in bytes, comma-separated; suffix K, M, G = 2^10, 2^20, 2^30")(
      "iters", bound(cfg.iters), "timed all-reduces per size (the median is reported)")(
      "warmup", bound(cfg.warmup), "untimed all-reduces per size before them")(
      "backend", bound(cfg.backend), "auto (nccl with GPUs, else mpi) | nccl | mpi")(
      "dtype", bound(cfg.dtype), "float | bf16 (the MPI backend reduces bf16 as float)")(
      "json", po::value(&cfg.json), "also write the result as JSON to this file");
  return parse_simple(
      "bench comm",
      "Usage: mpirun -np N wisesr bench comm [--sizes 1K,1M,64M --iters N --backend auto|nccl|mpi]\n"
      "In-place all-reduce (sum) timing across all ranks, as nccl-tests reports it: median time, algorithm\n"
      "bandwidth (bytes / time) and bus bandwidth (algbw x 2(n-1)/n), and a check of the result.",
      desc, args);
}

}  // namespace wisesr::config
