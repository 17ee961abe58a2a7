#include "config/cli.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>

#include "core/enum.h"
#include "core/error.h"
#include "core/strings.h"
#include "prep_options.h"

namespace po = boost::program_options;

namespace wisesr::config {
namespace {

template <typename T>
std::string format_value(const T& v) {
  if constexpr (NamedEnum<T>) {
    return to_string(v);
  } else if constexpr (std::is_same_v<T, bool>) {
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

// Binds an option to its member with the member's value as the default shown by --help. A mode (a named
// enum) is read as text and parsed when stored, so a bad value is an error naming the option and its
// values; --help shows the values as the placeholder ("--train.precision auto|fp32|bf16|fp16 (=auto)").
// An unsigned option (a seed) is read as text too: Boost's lexical_cast takes "-1" for an unsigned and
// wraps it to 2^64 - 1, where a user who typed a minus sign has made a mistake.
template <typename T>
T parse_unsigned(const std::string& option, const std::string& text) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  WISESR_CHECK(!text.empty() && ec == std::errc() && ptr == end, option, ": '", text,
               "' is not an integer from 0 to ", std::numeric_limits<T>::max());
  return value;
}

template <typename T>
po::value_semantic* bound(T& member, const std::string& option) {
  if constexpr (NamedEnum<T>) {
    return po::value<std::string>()
        ->default_value(to_string(member))
        ->value_name(enum_choices<T>("|"))
        ->notifier([&member, option](const std::string& text) { member = parse_enum<T>(option, text); });
  } else if constexpr (std::is_unsigned_v<T> && !std::is_same_v<T, bool>) {
    return po::value<std::string>()
        ->default_value(format_value(member))
        ->value_name("arg")
        ->notifier([&member, option](const std::string& text) { member = parse_unsigned<T>(option, text); });
  } else {
    return po::value<T>(&member)->default_value(member, format_value(member));
  }
}

// Adds the options of `group` that `keys` names (all of them when empty) as --<section>.<key>.
template <typename G>
void add_group(po::options_description& desc, G& group, const Keys& keys) {
  size_t added = 0;
  visit_options(group, [&](const char* key, auto& member, const std::string& help) {
    const bool wanted = keys.size() == 0 || std::any_of(keys.begin(), keys.end(),
                                                        [&](const char* k) { return std::string(k) == key; });
    if (!wanted) return;
    ++added;
    const std::string name = std::string(G::kSection) + "." + key;
    desc.add_options()(name.c_str(), bound(member, "--" + name), help.c_str());
  });
  WISESR_CHECK(keys.size() == 0 || added == keys.size(), "a subcommand takes an option that group '",
               G::kCaption, "' does not declare");
}

// Every group `cfg` takes (config.h: visit_groups), one --help section each.
template <typename Cfg>
void add_groups(po::options_description& all, Cfg& cfg) {
  visit_groups(cfg, [&](auto& group, const Keys& keys) {
    using G = std::remove_reference_t<decltype(group)>;
    po::options_description d(std::string(G::kCaption) + " (--" + G::kSection + ".*)");
    add_group(d, group, keys);
    all.add(d);
  });
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
  po::parsed_options parsed =
      po::command_line_parser(args).options(desc).positional(positional ? *positional : none).run();
  // An option given twice takes its last value, as in most command lines: a wrapper's defaults come first
  // and the user's overrides after them (cluster/slurm/train.sbatch, launch/train.sh).
  std::set<std::string> seen;
  for (auto it = parsed.options.rbegin(); it != parsed.options.rend(); ++it) {
    if (it->string_key.empty() || it->position_key >= 0) continue;
    if (!seen.insert(it->string_key).second) it->string_key.clear();  // an earlier occurrence: dropped
  }
  parsed.options.erase(std::remove_if(parsed.options.begin(), parsed.options.end(),
                                      [](const po::option& o) { return o.string_key.empty(); }),
                       parsed.options.end());
  po::store(parsed, vm);
  return vm;
}

std::string help_for(const std::string& usage, const po::options_description& desc) {
  std::ostringstream os;
  os << usage << "\n\n" << desc;
  return os.str();
}

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

// A subcommand's own options (in `own`) followed by the groups it takes.
template <typename Cfg>
Parsed parse_with_groups(const std::string& command, const char* usage, po::options_description& own,
                         Cfg& cfg, const std::vector<std::string>& args) {
  po::options_description all;
  add_groups(all, cfg);
  own.add(all);
  return parse_simple(command, usage, own, args);
}

}  // namespace

std::string read_config_text(const std::string& file) {
  std::error_code ec;
  WISESR_CHECK(!std::filesystem::is_directory(file, ec), "config file '", file,
               "' is a directory, not a file");
  std::ifstream in(file, std::ios::binary);
  WISESR_CHECK(in.good(), "cannot read config file '", file, "'");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  WISESR_CHECK(!in.bad(), "cannot read config file '", file, "'");
  const size_t bad = find_non_text_byte(text);
  if (bad != std::string::npos) {
    const size_t newline =
        bad == 0 ? std::string::npos : text.rfind('\n', bad - 1);  // ending the line before
    const auto line = std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n') + 1;
    const size_t column = newline == std::string::npos ? bad + 1 : bad - newline;
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%02x", static_cast<unsigned>(static_cast<uint8_t>(text[bad])));
    WISESR_THROW("'", file, "' is not a text config: byte ", hex, " at line ", line, ", column ", column);
  }
  return text;
}

SplitIni split_command_sections(const std::string& text) {
  SplitIni out;
  std::string* into = &out.train;  // before any [section]: train options
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const std::string t = trim(line);
    if (t.size() >= 2 && t.front() == '[' && t.back() == ']') {
      const std::string name = trim(t.substr(1, t.size() - 2));
      const bool other =
          std::find(kCommandSections.begin(), kCommandSections.end(), name) != kCommandSections.end();
      into = other ? &out.sections[name] : &out.train;
      if (!other) *into += line + "\n";
      continue;
    }
    *into += line + "\n";
  }
  return out;
}

namespace {

void store_config_file(const std::string& file, const po::options_description& fields,
                       po::variables_map& vm) {
  std::istringstream in(split_command_sections(read_config_text(file)).train);
  try {
    po::store(po::parse_config_file(in, fields, /*allow_unregistered=*/false), vm);
  } catch (const po::error& e) {
    WISESR_THROW("config file '", file, "': ", e.what());
  }
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
  add_groups(fields, cfg);
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
    if (vm.count("config")) store_config_file(vm["config"].as<std::string>(), fields, vm);
    po::notify(vm);
  });
  return out;
}

Config from_ini(const std::string& text) {
  Config cfg;
  po::options_description fields;
  add_groups(fields, cfg);
  std::istringstream in(text);
  guarded("train", [&] {
    po::variables_map vm;
    po::store(po::parse_config_file(in, fields, /*allow_unregistered=*/true), vm);
    po::notify(vm);
  });
  return cfg;
}

namespace {

// The options of `wisesr sweep` itself (bound to `s`; the groups come separately).
void add_sweep_options(po::options_description& d, SweepConfig& s) {
  d.add_options()("help,h", "show this help")(
      "config", po::value(&s.config)->required(),
      "the table: INI training options plus a [sweep] section with the rows (configs/paper/*.cfg)")(
      "rows", po::value(&s.rows), "run only these rows: comma-separated row ids or 1-based numbers")(
      "seeds", bound(s.seeds, "--seeds"),
      "runs per row, seeds train.seed, train.seed + 1, ... (mean +- std)")(
      "dry-run", po::bool_switch(&s.dry_run),
      "print the rows (backbone, head, image size, classes, params beside the paper's) and train nothing")(
      "out", po::value(&s.out), "sweep directory (default: <train.out_dir>/sweep-<table file stem>)");
}

// Command line, then (under it) a row's options, then the table's training options, into `cfg`.
void store_sweep_layers(const std::vector<std::string>& args, const std::string& row_ini,
                        const std::string& table_ini, const std::string& file, Config& cfg,
                        SweepConfig& own) {
  po::options_description all, fields;
  add_sweep_options(all, own);
  add_groups(fields, cfg);
  all.add(fields);
  po::variables_map vm = parse_command_line(args, all);
  if (vm.count("help")) return;
  for (const char* fixed : {"model.backbone", "model.head"}) {
    WISESR_CHECK(!vm.count(fixed) || vm[fixed].defaulted(), "--", fixed,
                 ": the rows of a sweep choose their backbone and head (select rows with --rows)");
  }
  std::istringstream row(row_ini);
  po::store(po::parse_config_file(row, fields, /*allow_unregistered=*/false), vm);
  std::istringstream table(table_ini);
  try {
    po::store(po::parse_config_file(table, fields, /*allow_unregistered=*/false), vm);
  } catch (const po::error& e) {
    WISESR_THROW("config file '", file, "': ", e.what());
  }
  po::notify(vm);
}

// The [sweep] section's body into `s`.
void store_sweep_section(const std::string& body, const std::string& file, SweepConfig& s) {
  po::options_description d;
  d.add_options()("sweep.name", po::value(&s.title))("sweep.classes", po::value(&s.classes))(
      "sweep.paper", po::value(&s.paper))("sweep.row", po::value(&s.row_lines)->composing());
  std::istringstream in("[sweep]\n" + body);
  try {
    po::variables_map vm;
    po::store(po::parse_config_file(in, d, /*allow_unregistered=*/false), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    WISESR_THROW("config file '", file, "': [sweep]: ", e.what());
  }
}

}  // namespace

Parsed parse_sweep_args(const std::vector<std::string>& args, SweepConfig& cfg) {
  Parsed out;
  guarded("sweep", [&] {
    po::options_description own, fields;
    SweepConfig probe;
    add_sweep_options(own, probe);
    add_groups(fields, probe.base);
    po::variables_map vm = parse_command_line(args, po::options_description().add(own).add(fields));
    if (vm.count("help")) {
      out.help = true;
      out.help_text = help_for(
          "Usage: mpirun -np N wisesr sweep --config TABLE [--rows R1,R2 --seeds N --dry-run] [--section.key "
          "value ...]\n"
          "Train the rows of a table one after another, each data-parallel over all ranks, and write\n"
          "results.md / results.csv beside the paper's figures (train/sweep.h). Finished rows are skipped, "
          "an\n"
          "interrupted row resumes; the command line overrides the table for every row.",
          po::options_description().add(own).add(fields));
      return;
    }
    const std::string file = vm.count("config") ? vm["config"].as<std::string>() : "";
    WISESR_CHECK(!file.empty(), "--config is required (a table: a config file with a [sweep] section)");
    const SplitIni split = split_command_sections(read_config_text(file));
    store_sweep_layers(args, "", split.train, file, cfg.base, cfg);
    auto it = split.sections.find("sweep");
    if (it != split.sections.end()) store_sweep_section(it->second, file, cfg);
    cfg.args = args;
  });
  return out;
}

Config sweep_row_config(const SweepConfig& sweep,
                        const std::vector<std::pair<std::string, std::string>>& options) {
  std::string row_ini;
  for (const auto& [key, value] : options) row_ini += key + " = " + value + "\n";
  Config cfg;
  SweepConfig ignored;
  guarded("sweep", [&] {
    store_sweep_layers(sweep.args, row_ini, split_command_sections(read_config_text(sweep.config)).train,
                       sweep.config, cfg, ignored);
  });
  return cfg;
}

std::string to_ini(const Config& resolved) {
  Config cfg = resolved;  // visit_fields hands out mutable members
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> sections;
  std::vector<std::string> order;
  visit_fields(cfg, [&](const char* section, const char* key, const auto& member, const std::string&) {
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

Parsed parse_eval_args(const std::vector<std::string>& args, EvalConfig& cfg) {
  po::options_description desc("Options");
  desc.add_options()("checkpoint", po::value(&cfg.checkpoint)->required(),
                     "checkpoint file written by 'wisesr train'")(
      "json", po::value(&cfg.json), "also write the result as JSON to this file (with per-class top-1)")(
      "per-class", po::value(&cfg.per_class),
      "also write per-class accuracy as CSV (class_index, class, samples, top1_correct, top1)")(
      "confusion", po::value(&cfg.confusion),
      "also write the confusion matrix as CSV (rows: true class, columns: predicted class)");
  return parse_with_groups(
      "eval",
      "Usage: [mpirun -np N] wisesr eval --checkpoint FILE --data.dir DIR\n"
      "Top-1/top-5 accuracy and loss over a split (--data.val_split); every sample is counted\n"
      "exactly once. The model, image size and normalisation are the checkpoint's.",
      desc, cfg, args);
}

Parsed parse_predict_args(const std::vector<std::string>& args, PredictConfig& cfg) {
  po::options_description desc("Options");
  desc.add_options()("checkpoint", po::value(&cfg.checkpoint)->required(),
                     "checkpoint written by 'wisesr train'")("input", po::value(&cfg.inputs)->composing(),
                                                             "image files or directories (also positional)")(
      "topk", bound(cfg.topk, "--topk"), "classes per image (at most the checkpoint's classes)")(
      "json", po::value(&cfg.json), "also write the predictions as JSON to this file")(
      "resize", bound(cfg.resize, "--resize"),
      "squash | center-crop: how an image becomes the checkpoint's size (as the dataset was prepared)");
  po::positional_options_description pos;
  pos.add("input", -1);
  po::options_description all;
  add_groups(all, cfg);
  desc.add(all);
  return parse_simple(
      "predict",
      "Usage: wisesr predict --checkpoint FILE IMAGE|DIR... [--topk 5 --json FILE]\n"
      "The checkpoint's top classes and probabilities for each image (any format prep reads,\n"
      "decoded and resized as prep does, normalised as in evaluation), in batches, on the CPU or a\n"
      "GPU. A file that cannot be read or decoded gets one error line; the rest are still\n"
      "classified, and the exit status is 1.",
      desc, args, &pos);
}

Parsed parse_gradcam_args(const std::vector<std::string>& args, GradcamConfig& cfg) {
  po::options_description desc("Options");
  desc.add_options()("checkpoint", po::value(&cfg.checkpoint)->required(),
                     "checkpoint written by 'wisesr train'")(
      "compare", po::value(&cfg.compare), "a second checkpoint: panels input | checkpoint | compare")(
      "out", po::value(&cfg.out)->required(), "output directory (NNNN.png and index.md)")(
      "count", bound(cfg.count, "--count"), "images to write")(
      "class-of", bound(cfg.class_of, "--class-of"), "predicted | true: the class whose heatmap is drawn");
  return parse_with_groups(
      "gradcam",
      "Usage: wisesr gradcam --checkpoint A [--compare B] --data.dir DIR [--data.val_split val --count N\n"
      "                      --class-of predicted|true] --out DIR\n"
      "Grad-CAM heatmaps over the inputs as PNGs; with --compare, input | A | B panels of the images both\n"
      "classify correctly (the paper's Fig. 9), and index.md listing them.",
      desc, cfg, args);
}

Parsed parse_synth_args(const std::vector<std::string>& args, prep::SynthOptions& cfg) {
  po::options_description desc("Options");
  desc.add_options()("out", po::value(&cfg.out)->required(), "output directory (one subfolder per class)")(
      "classes", bound(cfg.classes, "--classes"), "number of classes (2..24)")(
      "per-class", bound(cfg.per_class, "--per-class"), "images per class (at most 1000000)")(
      "size", bound(cfg.size, "--size"), "image side in pixels")(
      "seed", bound(cfg.seed, "--seed"), "random seed")("format", bound(cfg.format, "--format"),
                                                        "jpeg | png")(
      "task", bound(cfg.task, "--task"),
      "spatial: the label is where the shapes are, not what they are; texture: the label is which pattern, "
      "drawn anywhere; center: the label is the pattern in the centre cell, every pattern in every image");
  return parse_simple(
      "synth",
      "Usage: wisesr synth --out DIR [--task spatial|texture|center --classes K --per-class N --size S "
      "--seed X]\n"
      "Write a synthetic image-folder dataset (benchmarks for GAP vs Wise-SrNet, docs/datasets.md).",
      desc, args);
}

Parsed parse_prep_args(const std::vector<std::string>& args, prep::PrepOptions& cfg) {
  po::options_description desc("Options");
  desc.add_options()("layout", bound(cfg.layout, "--layout"),
                     "a dataset as distributed under --input ROOT, with its official split and class order "
                     "(docs/datasets.md); none: the sources below")(
      "input", po::value(&cfg.input),
      "training images: one subfolder per class (nested folders allowed); with --layout: the dataset ROOT")(
      "list", po::value(&cfg.list),
      "training list instead of --input: lines 'path<TAB>label' or 'path,label'")(
      "root", po::value(&cfg.root),
      "base directory of relative list paths (default: the list file's directory)")(
      "val-input", po::value(&cfg.val_input), "separate validation folder tree")(
      "val-list", po::value(&cfg.val_list), "separate validation list (e.g. ImageNet val)")(
      "class-index", po::value(&cfg.class_index),
      "file with one class name per line, fixing label order (default: sorted folder names/labels)")(
      "out", po::value(&cfg.out)->required(), "output directory for shards and index.json")(
      "size", bound(cfg.size, "--size"), "stored image side (short side with --resize short-side)")(
      "resize", bound(cfg.resize, "--resize"),
      "squash (the paper's) | center-crop | short-side (keep aspect, crop at train time)")(
      "storage", bound(cfg.storage, "--storage"),
      "jpeg (re-encoded) | raw (uint8 RGB, no decode at train time)")(
      "quality", bound(cfg.quality, "--quality"), "JPEG quality")(
      "val-fraction", bound(cfg.val_fraction, "--val-fraction"),
      "without a separate validation source: stratified fraction of each class held out")(
      "seed", bound(cfg.seed, "--seed"), "seed of the train/val split and record order")(
      "shard-mb", bound(cfg.shard_mb, "--shard-mb"),
      "target payload size of a shard in MiB, at most 16384 (a shard is assembled in memory)")(
      "shard-records", bound(cfg.shard_records, "--shard-records"),
      "records per shard instead of --shard-mb (0 = by size), at most 1000000")(
      "threads", bound(cfg.threads, "--threads"),
      "decode/encode threads; 0 = all cores; at most max(256, 4 x hardware threads)")(
      "strict", po::bool_switch(&cfg.strict), "fail on the first unusable input instead of skipping it")(
      "dry-run", po::bool_switch(&cfg.dry_run),
      "print counts per class and the expected size, write nothing");
  return parse_simple("prep",
                      "Usage: wisesr prep (--input DIR | --list FILE | --layout L --input ROOT) --out DIR\n"
                      "                   --size S [options]\n"
                      "Convert images into train/val HDF5 shards plus index.json (docs/shard-format.md).\n"
                      "Unusable inputs are skipped and listed in skipped.tsv; an interrupted prep resumes\n"
                      "when re-run with the same options.",
                      desc, args);
}

Parsed parse_verify_args(const std::vector<std::string>& args, prep::VerifyOptions& cfg) {
  po::options_description desc("Options");
  desc.add_options()("dir", po::value(&cfg.dir)->required(), "prepared dataset directory (also positional)")(
      "threads", bound(cfg.threads, "--threads"),
      "decode threads; 0 = all cores; at most max(256, 4 x hardware threads)");
  po::positional_options_description pos;
  pos.add("dir", 1);
  return parse_simple(
      "verify",
      "Usage: wisesr verify DIR\n"
      "Check index.json against the shards (counts, SHA-256) and decode every record; exit 0 only "
      "if\neverything is intact.",
      desc, args, &pos);
}

Parsed parse_params_args(const std::vector<std::string>& args, ParamsConfig& cfg) {
  po::options_description desc("Options");
  desc.add_options()("classes", bound(cfg.classes, "--classes"), "number of classes");
  return parse_with_groups(
      "params",
      "Usage: wisesr params --model.backbone M --model.head H --classes C --data.image_size S\n"
      "Parameter counts (total, head, delta over GAP, Keras-comparable), feature map and FLOPs.",
      desc, cfg, args);
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
  po::options_description desc("Benchmark");
  bool synthetic = true;
  desc.add_options()("classes", bound(cfg.classes, "--classes"), "number of classes")(
      "steps", bound(cfg.steps, "--steps"), "timed steps (img/s = batch / median step time)")(
      "warmup", bound(cfg.warmup, "--warmup"),
      "untimed steps before them (cuDNN autotuning, allocator growth)")(
      "breakdown-steps", bound(cfg.breakdown_steps, "--breakdown-steps"),
      "extra steps of the same training step reporting its phases, with a device sync after each, for the "
      "forward / backward+sync / optimizer breakdown; 0 = none")(
      "no-sync", po::bool_switch(&cfg.no_sync),
      "no GradSync at all (without it: GradSync over all ranks with --train.backend, as in training, its "
      "all-reduces issued even with one rank)")("synthetic", po::bool_switch(&synthetic),
                                                "random input made once on the device (the default)")(
      "json", po::value(&cfg.json), "also write the result as JSON to this file");
  return parse_with_groups(
      "bench train",
      "Usage: wisesr bench train --model.backbone M --model.head H --data.image_size S --train.batch_size B\n"
      "                          [--steps N --warmup W ...]\n"
      "Training throughput with the trainer's own Trainer and step (autocast forward, cross-entropy,\n"
      "backward with GradSync, SGD, Wise-SrNet clamp) on a synthetic batch: img/s from the median step "
      "time,\n"
      "a forward / backward+sync / optimizer breakdown and peak device memory. With --data.dir DIR the\n"
      "batches come from prepared shards through the trainer's input pipeline instead (real vs synthetic).",
      desc, cfg, args);
}

Parsed parse_bench_data_args(const std::vector<std::string>& args, BenchDataConfig& cfg) {
  po::options_description desc("Benchmark");
  desc.add_options()("batches", bound(cfg.batches, "--batches"), "timed batches per mode")(
      "warmup", bound(cfg.warmup, "--warmup"), "untimed batches before them")(
      "threads", bound(cfg.threads, "--threads"),
      "decode threads (the prefetch thread and --threads - 1 workers), also the CPU transform's intra-op "
      "threads: the 'cores' of img/s/core; 0 = all cores; at most max(256, 4 x hardware threads)")(
      "json", po::value(&cfg.json), "also write the result as JSON to this file");
  return parse_with_groups(
      "bench data",
      "Usage: wisesr bench data --data.dir DIR [--data.image_size S --threads N --data.augment keras\n"
      "                         --train.device cpu|cuda --data.decode auto|cpu|nvjpeg]\n"
      "Input-pipeline throughput on prepared shards: read (pread) + JPEG decode + transform, in img/s and\n"
      "img/s per decode thread, for plain decoding (normalisation only) and for the augmentation recipe\n"
      "(--data.augment and its parameters), side by side in one run. --train.device cuda: pinned batches, "
      "async\n"
      "copy and the transform on the GPU, as in training.",
      desc, cfg, args);
}

Parsed parse_bench_comm_args(const std::vector<std::string>& args, BenchCommConfig& cfg) {
  po::options_description desc("Benchmark");
  desc.add_options()("sizes", bound(cfg.sizes, "--sizes"),
                     "message sizes in bytes, comma-separated; suffix K, M, G = 2^10, 2^20, 2^30")(
      "iters", bound(cfg.iters, "--iters"), "timed all-reduces per size (the median is reported)")(
      "warmup", bound(cfg.warmup, "--warmup"), "untimed all-reduces per size before them")(
      "dtype", bound(cfg.dtype, "--dtype"), "float | bf16 (the MPI backend reduces bf16 as float)")(
      "json", po::value(&cfg.json), "also write the result as JSON to this file");
  return parse_with_groups(
      "bench comm",
      "Usage: mpirun -np N wisesr bench comm [--sizes 1K,1M,64M --iters N --train.backend auto|nccl|mpi]\n"
      "In-place all-reduce (sum) timing across all ranks, as nccl-tests reports it: median time, algorithm\n"
      "bandwidth (bytes / time) and bus bandwidth (algbw x 2(n-1)/n), and a check of the result.",
      desc, cfg, args);
}

namespace {

// Takes every occurrence of `option` out of args, each with its values (the words up to the next option):
// `wisesr plan --bench` may be repeated, and parse_command_line keeps only an option's last occurrence.
std::vector<std::string> take_repeated(std::vector<std::string>& args, const std::string& option) {
  std::vector<std::string> values, rest;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].rfind(option + "=", 0) == 0) {
      values.push_back(args[i].substr(option.size() + 1));
    } else if (args[i] != option) {
      rest.push_back(args[i]);
    } else {
      const size_t before = values.size();
      while (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) values.push_back(args[++i]);
      WISESR_CHECK(values.size() > before, option, " needs a file (see 'wisesr plan --help')");
    }
  }
  args = std::move(rest);
  return values;
}

}  // namespace

Parsed parse_plan_args(const std::vector<std::string>& given, PlanConfig& cfg) {
  std::vector<std::string> args = given;
  cfg.bench = take_repeated(args, "--bench");
  Parsed out;
  po::options_description own("Plan");
  own.add_options()("help,h", "show this help")(
      "config", po::value(&cfg.config),
      "training config (INI); its [plan] section gives the dataset and cluster figures")(
      "gpus", po::value(&cfg.gpus), "GPU counts, comma-separated, one table row each (e.g. 8,64,512)")(
      "bench", po::value<std::vector<std::string>>()->multitoken(),
      "JSON files of 'wisesr bench train|comm|data --json' (several after one --bench, or --bench repeated)")(
      "gpu-hour-cost", bound(cfg.gpu_hour_cost, "--gpu-hour-cost"), "USD per GPU-hour; 0 = assumed 2.5")(
      "checkpoint-gbps", bound(cfg.checkpoint_gbps, "--checkpoint-gbps"),
      "checkpoint write bandwidth in GB/s; 0 = assumed 1")("json", po::value(&cfg.json),
                                                           "also write the whole plan as JSON to this file");
  po::options_description plan_fields(std::string(PlanOptions::kCaption) + " (--plan.*)");
  add_group(plan_fields, cfg.plan, Keys{});
  po::options_description train_fields("Training options (as in 'wisesr train'; over the config file's)");
  add_groups(train_fields, cfg.train);
  po::options_description all;
  all.add(own).add(plan_fields).add(train_fields);
  guarded("plan", [&] {
    po::variables_map vm = parse_command_line(args, all);
    if (vm.count("help")) {
      out.help = true;
      out.help_text = help_for(
          "Usage: wisesr plan --config FILE --gpus 8,64,512 [--bench BENCH.json ...] [--gpu-hour-cost C]\n"
          "                   [--checkpoint-gbps G] [--json OUT.json] [--section.key value ...]\n"
          "Steps, wall time, GPU-hours and cost, shard size, decode capacity, memory per GPU and checkpoint\n"
          "size of a training config on each GPU count, from bench JSON files where given, the scaling\n"
          "model of docs/scaling.md, the dataset's manifest or the config's [plan] section; every figure\n"
          "that is none of these is a documented default and marked assumed.",
          all);
      return;
    }
    if (vm.count("config")) {
      const std::string file = vm["config"].as<std::string>();
      store_config_file(file, train_fields, vm);
      const auto sections = split_command_sections(read_config_text(file)).sections;
      if (const auto it = sections.find("plan"); it != sections.end()) {
        std::istringstream in("[plan]\n" + it->second);
        try {
          po::store(po::parse_config_file(in, plan_fields, /*allow_unregistered=*/false), vm);
        } catch (const po::error& e) {
          WISESR_THROW("config file '", file, "' [plan]: ", e.what());
        }
      }
    }
    po::notify(vm);
  });
  return out;
}

Parsed parse_report_args(const std::vector<std::string>& args, ReportConfig& cfg) {
  po::options_description desc("Options");
  desc.add_options()("runs", po::value(&cfg.runs)->multitoken(),
                     "run directories or `wisesr sweep` directories (also positional)")(
      "out", po::value(&cfg.out)->required(), "output directory (created if missing)")(
      "python", po::value(&cfg.python),
      "Python with matplotlib that runs python/wisesr_report.py; default: the venv's found at build time "
      "(launch/setup.sh), else python3");
  po::positional_options_description pos;
  pos.add("runs", -1);
  return parse_simple(
      "report",
      "Usage: wisesr report RUN_DIR... --out DIR [--python PY]\n"
      "Training curves (train and validation top-1, top-5, loss; lr) against epoch, one line\n"
      "per run, as PNG, and report.md + report.csv comparing the runs (best and final\n"
      "validation top-1/top-5, params, GFLOPs, img/s, epochs, wall time). A sweep directory\n"
      "stands for all its runs.",
      desc, args, &pos);
}

}  // namespace wisesr::config
