#pragma once
// Command-line and INI parsing for every subcommand (the only Boost.Program_options user).
// Precedence: command line > --config file > built-in defaults.

#include <string>
#include <vector>

#include "config/config.h"

namespace wisesr::config {

/// Result of parsing one subcommand's arguments. When help is set, the caller prints help_text and exits 0.
struct Parsed {
  bool help = false;
  std::string help_text;
};

Parsed parse_train_args(const std::vector<std::string>& args, Config& cfg);
Parsed parse_eval_args(const std::vector<std::string>& args, EvalConfig& cfg);
Parsed parse_synth_args(const std::vector<std::string>& args, SynthConfig& cfg);
Parsed parse_prep_args(const std::vector<std::string>& args, PrepConfig& cfg);
Parsed parse_verify_args(const std::vector<std::string>& args, VerifyConfig& cfg);
Parsed parse_params_args(const std::vector<std::string>& args, ParamsConfig& cfg);
Parsed parse_export_args(const std::vector<std::string>& args, ExportConfig& cfg);
Parsed parse_bench_train_args(const std::vector<std::string>& args, BenchTrainConfig& cfg);
Parsed parse_bench_data_args(const std::vector<std::string>& args, BenchDataConfig& cfg);
Parsed parse_bench_comm_args(const std::vector<std::string>& args, BenchCommConfig& cfg);

/// The resolved configuration as an INI document that parse_train_args(--config) reads back.
std::string to_ini(const Config& cfg);
/// Parse an INI document (e.g. the one stored in a checkpoint) over the defaults.
Config from_ini(const std::string& text);

}  // namespace wisesr::config
