#include "tools/report.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.h"

namespace wisesr::tools {

std::string report_python(const config::ReportConfig& cfg) {
  if (!cfg.python.empty()) return cfg.python;
  const std::string venv = WISESR_REPORT_PYTHON;
  if (!venv.empty() && ::access(venv.c_str(), X_OK) == 0) return venv;
  return "python3";
}

void run_report(const config::ReportConfig& cfg, const std::string& argv0) {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string self = ec ? argv0 : exe.string();
  const std::string script = WISESR_REPORT_SCRIPT;
  WISESR_CHECK(std::filesystem::is_regular_file(script), "report script '", script,
               "' not found (it is part of the source tree this wisesr was built from)");
  const std::string python = report_python(cfg);
  std::vector<std::string> args = {python, script};
  args.insert(args.end(), cfg.runs.begin(), cfg.runs.end());
  args.insert(args.end(), {"--out", cfg.out, "--wisesr", self});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  ::execvp(argv[0], argv.data());
  const int err = errno;  // only reached when the exec failed
  WISESR_THROW("cannot run Python '", python, "': ", std::strerror(err),
               " (pass --python, or run ./launch/setup.sh for the project's venv with matplotlib)");
}

}  // namespace wisesr::tools
