#include "train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <regex>
#include <sstream>

#include "core/error.h"
#include "core/fs.h"
#include "core/sha256.h"
#include "models/weights.h"
#include "train/optimizer.h"

namespace wisesr::train {
namespace {

constexpr const char* kMagic = "wisesr-checkpoint-v1";

std::filesystem::path sidecar_for(const std::filesystem::path& path) {
  return path.parent_path() / (path.filename().string() + ".sha256");
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Module::load() would silently resize a parameter whose stored shape differs; this copies tensor by
// tensor and reports every missing key or shape mismatch instead.
void load_checked(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                  const std::string& prefix, models::LoadReport& report) {
  auto load_tensors = [&](const auto& named, bool is_buffer) {
    for (const auto& item : named) {
      torch::Tensor stored;
      if (!archive.try_read(item.key(), stored, is_buffer)) stored = torch::Tensor();
      report.copy(prefix + item.key(), stored, item.value());
    }
  };
  load_tensors(module.named_parameters(/*recurse=*/false), false);
  load_tensors(module.named_buffers(/*recurse=*/false), true);
  for (const auto& child : module.named_children()) {
    torch::serialize::InputArchive sub;
    if (!archive.try_read(child.key(), sub)) {
      report.missing(prefix + child.key() + ".*");
      continue;
    }
    load_checked(*child.value(), sub, prefix + child.key() + ".", report);
  }
}

// Writes the archive to `tmp` through a descriptor of our own. LibTorch's file writer cannot fail cleanly:
// a failed write throws from inside the archive, whose destructor then throws again while finishing the zip
// (std::terminate: the process dies on a full disk). Here a failed write is remembered and the rest of the
// archive discarded, so save_to() returns and the failure becomes an ordinary error.
void write_archive(torch::serialize::OutputArchive& archive, const std::filesystem::path& tmp) {
  fs::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  WISESR_CHECK(fd.get() >= 0, "cannot create '", tmp.string(), "': ", fs::describe_write_error(errno));
  std::exception_ptr failure;  // the first failed write; the rest of the archive is discarded
  archive.save_to([&](const void* data, size_t size) -> size_t {
    if (!failure) {
      try {
        fs::write_all(fd.get(), data, size, tmp);
      } catch (...) {
        failure = std::current_exception();
      }
    }
    return size;  // never a short count: LibTorch would throw from inside the archive (see above)
  });
  if (failure) std::rethrow_exception(failure);
  WISESR_CHECK(::close(fd.release()) == 0, "closing '", tmp.string(),
               "' failed: ", fs::describe_write_error(errno));
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, torch::nn::Module& model, const Optimizer* optimizer,
                     const CheckpointMeta& meta, const std::function<void()>& before_commit) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  if (optimizer) {
    torch::serialize::OutputArchive opt_archive;
    optimizer->save(opt_archive);
    archive.write("optimizer", opt_archive);
  }
  archive.write("meta.magic", c10::IValue(std::string(kMagic)));
  archive.write("meta.config", c10::IValue(meta.config_ini));
  archive.write("meta.classes", c10::IValue(join_lines(meta.class_names)));
  archive.write("meta.image_size", c10::IValue(meta.image_size));
  archive.write("meta.epoch", c10::IValue(meta.epoch));
  archive.write("meta.step", c10::IValue(meta.step));
  archive.write("meta.tool_version", c10::IValue(meta.tool_version));
  archive.write("meta.epoch_sample", c10::IValue(meta.epoch_sample));
  archive.write("meta.best_top1", c10::IValue(meta.best_top1));
  archive.write("meta.loss_scale", c10::IValue(meta.loss_scale));
  archive.write("meta.world_size", c10::IValue(meta.world_size));
  // Until the rename, a failure (disk full, quota, I/O error) leaves the previous checkpoint of that name,
  // if any, as it was, and removes the partial temporary.
  const auto tmp = fs::temp_path_for(path);
  std::string digest;
  auto fail = [&](const std::string& why) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    WISESR_THROW("cannot write checkpoint '", path.string(), "': ", why);
  };
  try {
    write_archive(archive, tmp);
    digest = sha256_file(tmp);
    if (before_commit) before_commit();
    fs::commit_file(tmp, path);
  } catch (const c10::Error& e) {
    fail(e.what_without_backtrace());
  } catch (const Error& e) {
    fail(e.message());
  }
  fs::write_file_atomic(sidecar_for(path), digest + "  " + path.filename().string() + "\n");
}

void alias_checkpoint(const std::filesystem::path& checkpoint, const std::filesystem::path& alias) {
  const auto tmp = fs::temp_path_for(alias);
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  std::filesystem::create_hard_link(checkpoint, tmp, ec);
  if (ec) {
    std::filesystem::copy_file(checkpoint, tmp, std::filesystem::copy_options::overwrite_existing, ec);
    WISESR_CHECK(!ec, "cannot copy '", checkpoint.string(), "' to '", tmp.string(), "': ", ec.message());
  }
  fs::commit_file(tmp, alias);
  const auto sidecar = sidecar_for(checkpoint);
  if (std::filesystem::exists(sidecar))
    fs::write_file_atomic(sidecar_for(alias),
                          fs::read_file(sidecar).substr(0, 64) + "  " + alias.filename().string() + "\n");
}

void remove_checkpoint(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::filesystem::remove(sidecar_for(path), ec);
}

void verify_checkpoint_file(const std::filesystem::path& path) {
  WISESR_CHECK(std::filesystem::is_regular_file(path), "checkpoint '", path.string(), "' does not exist");
  const auto sidecar = sidecar_for(path);
  if (!std::filesystem::exists(sidecar))
    return;  // written by an older version or cut off right after the rename
  const std::string recorded = fs::read_file(sidecar).substr(0, 64);
  WISESR_CHECK(sha256_file(path) == recorded, "checkpoint '", path.string(),
               "' does not match its recorded SHA-256 (corrupt or truncated)");
}

CheckpointReader::CheckpointReader(const std::filesystem::path& path) : path_(path) {
  WISESR_CHECK(std::filesystem::is_regular_file(path), "checkpoint '", path.string(), "' does not exist");
  try {
    archive_.load_from(path.string());
    c10::IValue v;
    WISESR_CHECK(archive_.try_read("meta.magic", v) && v.isString() && v.toStringRef() == kMagic, "'",
                 path.string(), "' is not a wisesr checkpoint");
    archive_.read("meta.config", v);
    meta_.config_ini = v.toStringRef();
    archive_.read("meta.classes", v);
    meta_.class_names = split_lines(v.toStringRef());
    archive_.read("meta.image_size", v);
    meta_.image_size = v.toInt();
    archive_.read("meta.epoch", v);
    meta_.epoch = v.toInt();
    archive_.read("meta.step", v);
    meta_.step = v.toInt();
    archive_.read("meta.tool_version", v);
    meta_.tool_version = v.toStringRef();
    if (archive_.try_read("meta.epoch_sample", v)) meta_.epoch_sample = v.toInt();
    if (archive_.try_read("meta.best_top1", v)) meta_.best_top1 = v.toDouble();
    if (archive_.try_read("meta.loss_scale", v)) meta_.loss_scale = v.toDouble();
    if (archive_.try_read("meta.world_size", v)) meta_.world_size = v.toInt();
  } catch (const c10::Error& e) {
    WISESR_THROW("checkpoint '", path.string(),
                 "' is unreadable (truncated or corrupt?): ", e.what_without_backtrace());
  }
}

void CheckpointReader::load_model(torch::nn::Module& model) {
  try {
    torch::serialize::InputArchive model_archive;
    archive_.read("model", model_archive);
    models::LoadReport report;
    load_checked(model, model_archive, "", report);
    WISESR_CHECK(report.ok(), "checkpoint '", path_.string(),
                 "' does not fit the model: ", report.describe());
  } catch (const c10::Error& e) {
    WISESR_THROW("checkpoint '", path_.string(), "' does not fit the model: ", e.what_without_backtrace());
  }
}

void CheckpointReader::load_optimizer(Optimizer& optimizer) {
  try {
    torch::serialize::InputArchive opt_archive;
    archive_.read("optimizer", opt_archive);
    optimizer.load(opt_archive);
  } catch (const c10::Error& e) {
    WISESR_THROW("checkpoint '", path_.string(),
                 "' has no usable optimizer state: ", e.what_without_backtrace());
  } catch (const Error& e) {
    WISESR_THROW("checkpoint '", path_.string(), "': ", e.what());
  }
}

// ---- the run's checkpoint directory -----------------------------------------------------------

CheckpointDirectory::CheckpointDirectory(std::filesystem::path dir, int keep)
    : dir_(std::move(dir)), keep_(keep) {
  WISESR_CHECK(keep_ >= 1, "--train.keep_checkpoints must be >= 1");
}

std::filesystem::path CheckpointDirectory::path_for(int64_t step) const {
  char name[40];
  std::snprintf(name, sizeof(name), "step-%010lld.pt", static_cast<long long>(step));
  return dir_ / name;
}

std::vector<std::pair<int64_t, std::filesystem::path>> CheckpointDirectory::list() const {
  std::vector<std::pair<int64_t, std::filesystem::path>> out;
  if (!std::filesystem::is_directory(dir_)) return out;
  static const std::regex pattern(R"(step-(\d+)\.pt)");
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, pattern)) out.emplace_back(std::stoll(m[1].str()), e.path());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return out;
}

std::filesystem::path CheckpointDirectory::save(torch::nn::Module& model, const Optimizer* optimizer,
                                                const CheckpointMeta& meta,
                                                const std::function<void()>& before_commit) const {
  const auto path = path_for(meta.step);
  save_checkpoint(path, model, optimizer, meta, before_commit);
  update_last_link(path);
  prune();
  return path;
}

void CheckpointDirectory::mark_best(const std::filesystem::path& checkpoint) const {
  alias_checkpoint(checkpoint, dir_ / "best.pt");
}

// Points <dir>/last.pt at the checkpoint, atomically (a new symlink renamed over the old one).
void CheckpointDirectory::update_last_link(const std::filesystem::path& checkpoint) const {
  const auto link = dir_ / "last.pt";
  const auto tmp = fs::temp_path_for(link);
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  std::filesystem::create_symlink(checkpoint.filename(), tmp, ec);
  WISESR_CHECK(!ec, "cannot create symlink '", tmp.string(), "': ", ec.message());
  std::filesystem::rename(tmp, link, ec);
  WISESR_CHECK(!ec, "cannot update '", link.string(), "': ", ec.message());
}

void CheckpointDirectory::prune() const {
  const auto all = list();
  for (size_t i = static_cast<size_t>(keep_); i < all.size(); ++i) remove_checkpoint(all[i].second);
}

}  // namespace wisesr::train
