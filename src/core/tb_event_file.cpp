#include "core/tb_event_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/crc.hpp>
#include <chrono>
#include <system_error>

#include "core/error.h"
#include "core/tb_event.pb.h"

namespace wisesr::tb {
namespace {

namespace stdfs = std::filesystem;

constexpr const char* kFileVersion = "brain.Event:2";
constexpr size_t kHeaderBytes = 12;  // uint64 length + uint32 masked CRC of it
constexpr size_t kFooterBytes = 4;   // uint32 masked CRC of the payload
constexpr uint64_t kMaxRecordBytes = uint64_t{1} << 30;

double wall_time_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_le(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

// A payload framed as one TFRecord.
std::string frame(const std::string& payload) {
  std::string rec;
  rec.reserve(kHeaderBytes + payload.size() + kFooterBytes);
  put_le(rec, payload.size(), 8);
  put_le(rec, masked_crc32c(rec.data(), 8), 4);
  rec += payload;
  put_le(rec, masked_crc32c(payload.data(), payload.size()), 4);
  return rec;
}

std::string serialize(const proto::Event& e, const stdfs::path& path) {
  std::string out;
  WISESR_CHECK(e.SerializeToString(&out), "cannot serialize a TensorBoard event for '", path.string(), "'");
  return out;
}

// The records of a file as their payloads; `torn` when the last one is truncated or fails its CRC.
std::vector<std::string> read_records(const stdfs::path& path, bool* torn) {
  const std::string data = fs::read_file(path);
  std::vector<std::string> records;
  *torn = false;
  size_t at = 0;
  while (at < data.size()) {
    if (data.size() - at < kHeaderBytes) {
      *torn = true;
      break;
    }
    const uint64_t len = get_le(data.data() + at, 8);
    const bool header_ok = get_le(data.data() + at + 8, 4) == masked_crc32c(data.data() + at, 8);
    if (!header_ok || len > kMaxRecordBytes || data.size() - at - kHeaderBytes < len + kFooterBytes) {
      *torn = true;
      break;
    }
    const char* payload = data.data() + at + kHeaderBytes;
    if (get_le(payload + len, 4) != masked_crc32c(payload, len)) {
      *torn = true;
      break;
    }
    records.emplace_back(payload, len);
    at += kHeaderBytes + len + kFooterBytes;
  }
  return records;
}

Event parse(const std::string& payload, const stdfs::path& path) {
  proto::Event pe;
  WISESR_CHECK(pe.ParseFromString(payload), "'", path.string(),
               "' holds a record that is not a TensorBoard event");
  Event e;
  e.wall_time = pe.wall_time();
  e.step = pe.step();
  if (pe.has_file_version()) e.file_version = pe.file_version();
  if (!pe.has_summary()) return e;
  for (const auto& v : pe.summary().value()) {
    if (v.has_simple_value()) {
      e.scalars.push_back({v.tag(), v.simple_value()});
    } else if (v.has_tensor() && v.tensor().dtype() == proto::DT_STRING && v.tensor().string_val_size() > 0) {
      e.texts.push_back({v.tag(), v.tensor().string_val(0)});
    }
  }
  return e;
}

}  // namespace

const Scalar* Event::scalar(const std::string& tag) const {
  for (const auto& s : scalars)
    if (s.tag == tag) return &s;
  return nullptr;
}

uint32_t crc32c(const void* data, size_t size) {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(data, size);
  return crc.checksum();
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

EventFileWriter::EventFileWriter(const stdfs::path& dir) {
  fs::ensure_dir(dir);
  const auto seconds = static_cast<long long>(wall_time_now());
  // TensorFlow's name pattern (TensorBoard only needs "tfevents" in it), the last part counting up from 0
  // until the name is new: two writers in one process and second still get files of their own.
  const std::string stem = "events.out.tfevents." + std::to_string(seconds) + "." + fs::host_name() + "." +
                           std::to_string(getpid()) + ".";
  for (int n = 0;; ++n) {
    path_ = dir / (stem + std::to_string(n));
    fd_ = fs::UniqueFd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644));
    if (fd_.get() >= 0 || errno != EEXIST || n >= 1000) break;
  }
  WISESR_CHECK(fd_.get() >= 0, "cannot create '", path_.string(), "': ", fs::describe_write_error(errno));
  proto::Event e;
  e.set_wall_time(wall_time_now());
  e.set_file_version(kFileVersion);
  write_record(serialize(e, path_));
}

void EventFileWriter::add_scalars(int64_t step, const std::vector<Scalar>& scalars) {
  proto::Event e;
  e.set_wall_time(wall_time_now());
  e.set_step(step);
  auto* summary = e.mutable_summary();
  for (const auto& s : scalars) {
    auto* v = summary->add_value();
    v->set_tag(s.tag);
    v->set_simple_value(static_cast<float>(s.value));
  }
  write_record(serialize(e, path_));
}

void EventFileWriter::add_text(int64_t step, const std::string& tag, const std::string& markdown) {
  proto::Event e;
  e.set_wall_time(wall_time_now());
  e.set_step(step);
  auto* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  v->mutable_metadata()->mutable_plugin_data()->set_plugin_name("text");
  auto* t = v->mutable_tensor();
  t->set_dtype(proto::DT_STRING);
  t->mutable_tensor_shape();  // a scalar string: a shape with no dimensions
  t->add_string_val(markdown);
  write_record(serialize(e, path_));
}

void EventFileWriter::write_record(const std::string& payload) {
  const std::string rec = frame(payload);
  fs::write_all(fd_.get(), rec.data(), rec.size(), path_);
}

EventFile read_event_file(const stdfs::path& path) {
  EventFile f;
  for (const auto& r : read_records(path, &f.torn)) f.events.push_back(parse(r, path));
  return f;
}

std::vector<stdfs::path> list_event_files(const stdfs::path& dir) {
  std::vector<stdfs::path> files;
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec)) return files;
  for (const auto& entry : stdfs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.find("tfevents") != std::string::npos && name.front() != '.')
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

size_t cut_event_files(const stdfs::path& dir, const std::function<bool(const Event&)>& keep) {
  size_t dropped = 0;
  for (const auto& path : list_event_files(dir)) {
    bool torn = false;
    const auto records = read_records(path, &torn);
    std::string kept;
    size_t kept_events = 0, file_dropped = 0;
    for (const auto& r : records) {
      const Event e = parse(r, path);
      if (!e.file_version.empty()) {
        kept += frame(r);
      } else if (keep(e)) {
        kept += frame(r);
        ++kept_events;
      } else {
        ++file_dropped;
      }
    }
    dropped += file_dropped;
    if (kept_events == 0) {
      stdfs::remove(path);
    } else if (file_dropped > 0 || torn) {
      fs::write_file_atomic(path, kept);
    }
  }
  return dropped;
}

}  // namespace wisesr::tb
