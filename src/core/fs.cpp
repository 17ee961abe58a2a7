#include "core/fs.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace wisesr::fs {
namespace {

void fsync_fd_path(const stdfs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  WISESR_CHECK(fd >= 0, "cannot open '", path.string(), "' for fsync: ", std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  // Directories on some file systems refuse fsync with EINVAL; that is not a data-loss risk.
  WISESR_CHECK(rc == 0 || (flags & O_DIRECTORY && err == EINVAL), "fsync of '", path.string(),
               "' failed: ", std::strerror(err));
}

// fsync the directory holding path (after a rename or a create in it).
void fsync_parent_dir(const stdfs::path& path) {
  const stdfs::path dir = path.parent_path();
  fsync_fd_path(dir.empty() ? stdfs::path(".") : dir, O_RDONLY | O_DIRECTORY);
}

}  // namespace

stdfs::path temp_path_for(const stdfs::path& final_path) {
  stdfs::path dir = final_path.parent_path();
  std::string name(".");
  name.append(final_path.filename().string()).append(".tmp-").append(std::to_string(::getpid()));
  return dir.empty() ? stdfs::path(name) : dir / name;
}

void commit_file(const stdfs::path& temp_path, const stdfs::path& final_path) {
  fsync_fd_path(temp_path, O_RDONLY);
  std::error_code ec;
  stdfs::rename(temp_path, final_path, ec);
  WISESR_CHECK(!ec, "cannot rename '", temp_path.string(), "' to '", final_path.string(),
               "': ", ec.message());
  fsync_parent_dir(final_path);
}

void commit_file_in_place(const stdfs::path& path) {
  fsync_fd_path(path, O_RDONLY);
  fsync_parent_dir(path);
}

std::string describe_write_error(int err) {
  std::string what = std::strerror(err);
  switch (err) {
    case ENOSPC:
      return what + " (disk full)";
    case EDQUOT:
      return what + " (quota exceeded)";
    case EROFS:
      return what + " (read-only file system)";
    case EIO:
      return what + " (I/O error: check the disk)";
    case EFBIG:
      return what + " (file size limit)";
    default:
      return what;
  }
}

void write_all(int fd, const void* data, size_t size, const stdfs::path& path_for_errors) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    const int err = n < 0 ? errno : ENOSPC;  // write(2) returning 0 for a non-empty buffer: no room
    WISESR_CHECK(n > 0, "cannot write '", path_for_errors.string(), "': ", describe_write_error(err));
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void write_file_atomic(const stdfs::path& path, std::string_view content) {
  const stdfs::path tmp = temp_path_for(path);
  try {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    WISESR_CHECK(fd.get() >= 0, "cannot write '", path.string(), "': ", describe_write_error(errno));
    write_all(fd.get(), content.data(), content.size(), path);
    WISESR_CHECK(::fsync(fd.get()) == 0, "cannot write '", path.string(), "': ", describe_write_error(errno));
    // close(2) is where NFS reports a deferred write error.
    WISESR_CHECK(::close(fd.release()) == 0, "cannot write '", path.string(),
                 "': ", describe_write_error(errno));
    std::error_code ec;
    stdfs::rename(tmp, path, ec);
    WISESR_CHECK(!ec, "cannot write '", path.string(), "': ", ec.message());
  } catch (...) {
    std::error_code ec;
    stdfs::remove(tmp, ec);
    throw;
  }
  fsync_parent_dir(path);
}

AppendFile::AppendFile(const stdfs::path& path)
    : path_(path), fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {
  WISESR_CHECK(fd_.get() >= 0, "cannot open '", path.string(),
               "' for writing: ", describe_write_error(errno));
}

void AppendFile::write_line(std::string_view line) {
  std::string buf;
  buf.reserve(line.size() + 1);
  buf.append(line).push_back('\n');
  write_all(fd_.get(), buf.data(), buf.size(), path_);
}

void AppendFile::sync() {
  WISESR_CHECK(::fsync(fd_.get()) == 0, "cannot write '", path_.string(), "': ", describe_write_error(errno));
  fsync_parent_dir(path_);
}

std::string read_file(const stdfs::path& path) {
  std::ifstream in(path, std::ios::binary);
  WISESR_CHECK(in.good(), "cannot read '", path.string(), "': ", std::strerror(errno));
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

void ensure_dir(const stdfs::path& dir) {
  std::error_code ec;
  stdfs::create_directories(dir, ec);
  WISESR_CHECK(!ec && stdfs::is_directory(dir), "cannot create directory '", dir.string(),
               "': ", ec ? ec.message() : "not a directory");
  WISESR_CHECK(::access(dir.c_str(), W_OK) == 0, "directory '", dir.string(), "' is not writable");
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

uint32_t crc32(const void* data, size_t size) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  while (size > 0) {
    uInt chunk = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = ::crc32(crc, p, chunk);
    p += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

void UniqueFd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

UniqueFd open_read_only(const stdfs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  WISESR_CHECK(fd >= 0, "cannot open '", path.string(), "': ", std::strerror(errno));
  return UniqueFd(fd);
}

void pread_exact(int fd, void* out, size_t size, uint64_t offset, const stdfs::path& path_for_errors) {
  auto* p = static_cast<uint8_t*>(out);
  while (size > 0) {
    const ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    WISESR_CHECK(n >= 0, "cannot read '", path_for_errors.string(), "' at byte ", offset, ": ",
                 std::strerror(errno));
    WISESR_CHECK(n > 0, "'", path_for_errors.string(), "' ends at byte ", offset, " (truncated?)");
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

void raise_open_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);  // best effort: the open that needs it reports the failure
}

}  // namespace wisesr::fs
