#pragma once
// TensorBoard event files: what `tensorboard --logdir` reads. A file is a sequence of TFRecords
//   uint64 length | uint32 masked CRC-32C of the length | length bytes: a serialized Event | uint32 masked
//   CRC-32C of those bytes
// (little-endian; "masked" = rotated right by 15 bits plus 0xa282ead8, as TensorFlow's record writer does),
// the first Event holding file_version "brain.Event:2". The Events are protobuf messages
// (core/tb_event.proto, field numbers as in TensorFlow's event.proto) serialized by the protobuf library;
// CRC-32C is Boost.CRC's.
//
// Usage:
//   tb::EventFileWriter w(run_dir);                 // run_dir/events.out.tfevents.<time>.<host>.<pid>.<n>
//   w.add_scalars(step, {{"train/loss", 0.7}, {"train/top1", 0.5}});
//   w.add_text(0, "config", "    [model]\n    backbone = resnet50\n");   // Markdown, the text plugin's
//   tb::cut_event_files(run_dir, [&](const tb::Event& e) { return e.step <= kept_step; });   // on a resume
//
// Each record is one write(2) to an O_APPEND descriptor: a process killed mid-write leaves at most a torn
// last record, which TensorBoard and read_event_file() stop at.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/fs.h"

namespace wisesr::tb {

struct Scalar {
  std::string tag;
  double value = 0;  // stored as float, TensorBoard's scalar type
};

struct Text {
  std::string tag;
  std::string markdown;
};

/// One Event as read back (file_version events have no scalars or texts).
struct Event {
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version;
  std::vector<Scalar> scalars;
  std::vector<Text> texts;

  /// The scalar `tag`'s value, or nullptr.
  const Scalar* scalar(const std::string& tag) const;
};

/// Appends events to a new event file in a directory (created if missing). Not thread-safe.
class EventFileWriter {
 public:
  explicit EventFileWriter(const std::filesystem::path& dir);
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  /// One Event at `step` holding every scalar (now as its wall time).
  void add_scalars(int64_t step, const std::vector<Scalar>& scalars);
  /// One Event at `step` holding a text summary (the text plugin renders it as Markdown).
  void add_text(int64_t step, const std::string& tag, const std::string& markdown);
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& payload);

  std::filesystem::path path_;
  fs::UniqueFd fd_;
};

/// What read_event_file found.
struct EventFile {
  std::vector<Event> events;
  bool torn = false;  // reading stopped at a truncated or corrupt record (a kill mid-write)
};

/// Read an event file; throws naming it when it cannot be read or a record does not parse as an Event.
EventFile read_event_file(const std::filesystem::path& path);

/// The event files in dir (names containing "tfevents"), oldest name first.
std::vector<std::filesystem::path> list_event_files(const std::filesystem::path& dir);

/// Keep in dir's event files only the events `keep` accepts (and each file's file_version event): a file
/// that loses events is rewritten atomically with the kept records as they were, a file left without any
/// other event is removed, and a torn tail is dropped. Returns how many events were dropped.
size_t cut_event_files(const std::filesystem::path& dir, const std::function<bool(const Event&)>& keep);

/// CRC-32C (Castagnoli) of a byte range, and TensorFlow's mask of it.
uint32_t crc32c(const void* data, size_t size);
uint32_t masked_crc32c(const void* data, size_t size);

}  // namespace wisesr::tb
