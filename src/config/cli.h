#pragma once
// Command-line and INI parsing for every subcommand (the only Boost.Program_options user). The options
// of each subcommand are its own few plus the option groups config.h says it takes; every group option
// is generated from its layer's declaration (visit_options in the layer's *_options.h): the same
// spelling --<section>.<key>, help text, default and, for a mode, the names of its values, in every
// subcommand, in --help, in INI files and in the config.ini of a run.
// Precedence: command line > --config file > built-in defaults.
//
// Usage:
//   config::Config cfg;
//   const config::Parsed p = config::parse_train_args(args, cfg);
//   if (p.help) { std::cout << p.help_text; return 0; }
//   cfg.validate();

#include <array>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"

namespace wisesr::prep {  // data_prep/prep_options.h
struct SynthOptions;
struct PrepOptions;
struct VerifyOptions;
}  // namespace wisesr::prep

namespace wisesr::config {

/// Result of parsing one subcommand's arguments. When help is set, the caller prints help_text and exits 0.
struct Parsed {
  bool help = false;
  std::string help_text;
};

Parsed parse_train_args(const std::vector<std::string>& args, Config& cfg);
Parsed parse_eval_args(const std::vector<std::string>& args, EvalConfig& cfg);
Parsed parse_predict_args(const std::vector<std::string>& args, PredictConfig& cfg);
Parsed parse_gradcam_args(const std::vector<std::string>& args, GradcamConfig& cfg);
Parsed parse_synth_args(const std::vector<std::string>& args, prep::SynthOptions& cfg);
Parsed parse_prep_args(const std::vector<std::string>& args, prep::PrepOptions& cfg);
Parsed parse_verify_args(const std::vector<std::string>& args, prep::VerifyOptions& cfg);
Parsed parse_params_args(const std::vector<std::string>& args, ParamsConfig& cfg);
Parsed parse_sweep_args(const std::vector<std::string>& args, SweepConfig& cfg);
/// One row's training options: sweep.args (the command line) over `options` (the row's key=value pairs,
/// "section.key" -> value) over the table file's training options over the defaults.
Config sweep_row_config(const SweepConfig& sweep,
                        const std::vector<std::pair<std::string, std::string>>& options);
Parsed parse_export_args(const std::vector<std::string>& args, ExportConfig& cfg);
Parsed parse_bench_train_args(const std::vector<std::string>& args, BenchTrainConfig& cfg);
Parsed parse_bench_data_args(const std::vector<std::string>& args, BenchDataConfig& cfg);
Parsed parse_bench_comm_args(const std::vector<std::string>& args, BenchCommConfig& cfg);
/// `wisesr plan`: --config's training sections and its [plan] section, with the command line over both.
Parsed parse_plan_args(const std::vector<std::string>& args, PlanConfig& cfg);
/// `wisesr report`: run directories (positional) and --out.
Parsed parse_report_args(const std::vector<std::string>& args, ReportConfig& cfg);

/// Sections of a config file that belong to commands other than `train`: a paper table's rows
/// ([sweep], train/sweep.h) and the dataset and cluster figures of a plan ([plan], tools/plan.h).
/// `wisesr train --config F` skips them, so one file serves train, sweep and plan.
inline constexpr std::array<const char*, 2> kCommandSections = {"sweep", "plan"};

/// INI text split into the training options (every other section) and the body of each
/// kCommandSections section present (its lines, without the [header]; repeated sections concatenated).
struct SplitIni {
  std::string train;
  std::map<std::string, std::string> sections;
};
SplitIni split_command_sections(const std::string& text);

/// The text of a config file; a directory, an unreadable file or one that is not text (a binary given by
/// mistake) is an error naming the file, and for binary content the first offending byte's position,
/// never the bytes themselves.
std::string read_config_text(const std::string& file);

/// The resolved configuration as an INI document that parse_train_args(--config) reads back.
std::string to_ini(const Config& cfg);
/// Parse an INI document (e.g. the one stored in a checkpoint) over the defaults; keys it does not know
/// (from another version) are ignored.
Config from_ini(const std::string& text);

}  // namespace wisesr::config
