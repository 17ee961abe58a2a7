#pragma once
// `wisesr report`: the training curves and the comparison table are drawn by python/wisesr_report.py
// (matplotlib); this finds the Python to run it with and hands the process over to it.

#include <string>

#include "config/config.h"

namespace wisesr::tools {

/// The Python that runs the report: cfg.python, else the venv's found at build time (launch/setup.sh's),
/// else "python3" (looked up on PATH).
std::string report_python(const config::ReportConfig& cfg);

/// Replaces this process with `PYTHON wisesr_report.py RUN_DIR... --out DIR --wisesr SELF`, so the
/// script's exit status is the command's (its errors are one line, status 1). SELF is this executable
/// (/proc/self/exe, else argv0): the script runs `wisesr params` for GFLOPs. Returns only by throwing:
/// Python or the script missing.
[[noreturn]] void run_report(const config::ReportConfig& cfg, const std::string& argv0);

}  // namespace wisesr::tools
