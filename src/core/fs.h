#pragma once
// File-system helpers. Every file the project writes goes through a temporary name, is fsync'ed and
// renamed into place, so a killed process never leaves a file that looks complete.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace wisesr::fs {

namespace stdfs = std::filesystem;

/// "<dir>/.<name>.tmp-<pid>": where a file is written before commit_file() renames it.
stdfs::path temp_path_for(const stdfs::path& final_path);

/// fsync the file, rename it onto final_path, fsync the directory. Throws on any failure.
void commit_file(const stdfs::path& temp_path, const stdfs::path& final_path);

/// fsync an existing file and its directory (after an append that must survive a crash).
void commit_file_in_place(const stdfs::path& path);

/// strerror(err) with what it usually means for a write: "No space left on device (disk full)",
/// "... (quota exceeded)", "... (read-only file system)", "... (I/O error: check the disk)".
std::string describe_write_error(int err);

/// Write all of [data, data + size) to fd (retrying short writes and EINTR); throws "cannot write
/// '<path>': <describe_write_error>" on failure.
void write_all(int fd, const void* data, size_t size, const stdfs::path& path_for_errors);

/// Write content to path atomically (temp file + fsync + rename). On any failure (ENOSPC, EDQUOT, EIO,
/// EROFS, ...) the temporary is removed, a previous file of that name stays as it was, and the error
/// names the file and the cause.
void write_file_atomic(const stdfs::path& path, std::string_view content);

/// Read a whole file; throws naming the file if it cannot be read.
std::string read_file(const stdfs::path& path);

/// Create a directory (and parents); throws naming it if that fails or it is not writable.
void ensure_dir(const stdfs::path& dir);

/// Move-only owner of a POSIX file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset() noexcept;

 private:
  int fd_ = -1;
};

/// A file lines are appended to (metrics.jsonl, epochs.csv, prep's journal): each line is one write(2)
/// to an O_APPEND descriptor, so lines never interleave; a failed write throws naming the file and the
/// cause, like write_file_atomic. A line torn by a crash is the reader's to skip.
class AppendFile {
 public:
  explicit AppendFile(const stdfs::path& path);
  /// Appends line and a newline.
  void write_line(std::string_view line);
  /// fsync the file and its directory.
  void sync();
  const stdfs::path& path() const { return path_; }

 private:
  stdfs::path path_;
  UniqueFd fd_;
};

/// Open a file read-only (O_CLOEXEC); throws naming the file on failure.
UniqueFd open_read_only(const stdfs::path& path);

/// Read exactly size bytes at offset (retrying short reads and EINTR); throws naming the file on an
/// I/O error or when the file ends early (truncated).
void pread_exact(int fd, void* out, size_t size, uint64_t offset, const stdfs::path& path_for_errors);

/// Raise the soft limit on open files to the hard limit (a rank may hold one descriptor per shard).
void raise_open_file_limit();

/// This machine's host name ("unknown" if it cannot be read): for run locks, heartbeats, event file names.
std::string host_name();

/// CRC-32 (zlib polynomial) of a byte range.
uint32_t crc32(const void* data, size_t size);

}  // namespace wisesr::fs
