#include "data/shard_reader.h"

#include <mutex>

#include "core/error.h"
#include "core/fs.h"

namespace wisesr::data {
namespace {

// Debian's HDF5 is built without thread safety: every HDF5 call made after construction (fallback
// reads, source_path) takes this lock.
std::mutex& h5_mutex() {
  static std::mutex m;
  return m;
}

// File offset of a contiguous, unfiltered dataset's first byte, or -1 when it has no such offset.
int64_t contiguous_offset(hid_t ds) {
  auto dcpl = h5::plist(H5Dget_create_plist(ds));
  if (!dcpl || H5Pget_layout(dcpl.get()) != H5D_CONTIGUOUS || H5Pget_nfilters(dcpl.get()) != 0) return -1;
  const haddr_t addr = H5Dget_offset(ds);
  return addr == HADDR_UNDEF ? -1 : static_cast<int64_t>(addr);
}

hsize_t dataset_length(hid_t ds, const std::string& what) {
  auto space = h5::dataspace(WISESR_CHECK_H5(H5Dget_space(ds), "no dataspace for ", what));
  hsize_t dims[2] = {0, 0};
  int rank =
      WISESR_CHECK_H5(H5Sget_simple_extent_dims(space.get(), dims, nullptr), "bad dataspace for ", what);
  WISESR_CHECK(rank >= 1, what, " is not an array");
  return rank == 1 ? dims[0] : dims[0] * dims[1];
}

template <typename T>
std::vector<T> read_all(hid_t file, const char* name, hid_t mem_type, const std::string& where) {
  auto ds = h5::dataset(
      WISESR_CHECK_H5(H5Dopen2(file, name, H5P_DEFAULT), where, ": missing dataset '", name, "'"));
  std::vector<T> out(dataset_length(ds.get(), where + ":" + name));
  if (!out.empty()) {
    WISESR_CHECK_H5(H5Dread(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), where,
                    ": cannot read dataset '", name, "'");
  }
  return out;
}

std::string read_attr_string(hid_t obj, const char* name, const std::string& where) {
  auto a = h5::attribute(
      WISESR_CHECK_H5(H5Aopen(obj, name, H5P_DEFAULT), where, ": missing attribute '", name, "'"));
  auto type = h5::utf8_string_type();
  char* value = nullptr;
  WISESR_CHECK_H5(H5Aread(a.get(), type.get(), &value), where, ": cannot read attribute '", name, "'");
  std::string out = value ? value : "";
  H5free_memory(value);
  return out;
}

std::vector<std::string> read_attr_strings(hid_t obj, const char* name, const std::string& where) {
  auto a = h5::attribute(
      WISESR_CHECK_H5(H5Aopen(obj, name, H5P_DEFAULT), where, ": missing attribute '", name, "'"));
  auto space = h5::dataspace(WISESR_CHECK_H5(H5Aget_space(a.get()), "H5Aget_space"));
  hssize_t n = H5Sget_simple_extent_npoints(space.get());
  WISESR_CHECK(n >= 0, where, ": bad attribute '", name, "'");
  std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
  auto type = h5::utf8_string_type();
  if (n > 0) WISESR_CHECK_H5(H5Aread(a.get(), type.get(), ptrs.data()), where, ": cannot read '", name, "'");
  std::vector<std::string> out;
  for (char* p : ptrs) {
    out.emplace_back(p ? p : "");
    H5free_memory(p);
  }
  return out;
}

template <typename T>
T read_attr_scalar(hid_t obj, const char* name, hid_t mem_type, const std::string& where) {
  auto a = h5::attribute(
      WISESR_CHECK_H5(H5Aopen(obj, name, H5P_DEFAULT), where, ": missing attribute '", name, "'"));
  T value{};
  WISESR_CHECK_H5(H5Aread(a.get(), mem_type, &value), where, ": cannot read attribute '", name, "'");
  return value;
}

}  // namespace

ShardReader::ShardReader(std::filesystem::path path) : path_(std::move(path)) {
  std::lock_guard<std::mutex> lock(h5_mutex());
  h5::quiet();
  const std::string where = "shard '" + path_.string() + "'";
  WISESR_CHECK(std::filesystem::is_regular_file(path_), where, " does not exist");
  file_ = h5::file(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  WISESR_CHECK(file_, where, " is not a readable HDF5 file (truncated or corrupt?)");
  hid_t f = file_.get();
  int version = read_attr_scalar<int32_t>(f, attr::kSchemaVersion, H5T_NATIVE_INT32, where);
  WISESR_CHECK(version == kSchemaVersion, where, " has schema version ", version,
               ", this build reads version ", kSchemaVersion);
  info_.storage = read_attr_string(f, attr::kStorage, where);
  info_.size_policy = read_attr_string(f, attr::kSizePolicy, where);
  info_.jpeg_quality = read_attr_scalar<int32_t>(f, attr::kJpegQuality, H5T_NATIVE_INT32, where);
  info_.image_size = read_attr_scalar<int32_t>(f, attr::kImageSize, H5T_NATIVE_INT32, where);
  info_.split = read_attr_string(f, attr::kSplit, where);
  info_.class_names = read_attr_strings(f, attr::kClassNames, where);

  offsets_ = read_all<uint64_t>(f, dset::kOffsets, H5T_NATIVE_UINT64, where);
  labels_ = read_all<int32_t>(f, dset::kLabels, H5T_NATIVE_INT32, where);
  shapes_ = read_all<uint32_t>(f, dset::kShapes, H5T_NATIVE_UINT32, where);
  crcs_ = read_all<uint32_t>(f, dset::kCrc32, H5T_NATIVE_UINT32, where);
  const size_t n = labels_.size();
  WISESR_CHECK(offsets_.size() == n + 1 && shapes_.size() == 3 * n && crcs_.size() == n, where,
               " is inconsistent: ", n, " labels, ", offsets_.size(), " offsets, ", shapes_.size() / 3,
               " shapes, ", crcs_.size(), " checksums");
  images_ = h5::dataset(
      WISESR_CHECK_H5(H5Dopen2(f, dset::kImages, H5P_DEFAULT), where, ": missing dataset 'images'"));
  const hsize_t total = dataset_length(images_.get(), where + ":images");
  WISESR_CHECK(offsets_.front() == 0 && offsets_.back() == total, where, " is inconsistent: offsets end at ",
               offsets_.back(), " but 'images' holds ", total, " bytes");
  for (size_t i = 0; i < n; ++i) {
    WISESR_CHECK(offsets_[i] <= offsets_[i + 1], where, ": offsets decrease at record ", i);
    WISESR_CHECK(labels_[i] >= 0 && static_cast<size_t>(labels_[i]) < info_.class_names.size(), where,
                 ": record ", i, " has label ", labels_[i], " outside [0, ", info_.class_names.size(), ")");
  }
  const int64_t at = total > 0 ? contiguous_offset(images_.get()) : -1;
  if (at >= 0) {
    const auto file_bytes = std::filesystem::file_size(path_);
    WISESR_CHECK(static_cast<uint64_t>(at) + total <= file_bytes, where,
                 " is truncated: 'images' ends at byte ", static_cast<uint64_t>(at) + total, " of a ",
                 file_bytes, "-byte file");
    fd_ = fs::open_read_only(path_);
    data_offset_ = static_cast<uint64_t>(at);
    images_.reset();  // direct mode holds no HDF5 state
    file_.reset();
  }
}

ShardReader::~ShardReader() {
  std::lock_guard<std::mutex> lock(h5_mutex());
  images_.reset();
  file_.reset();
}

RecordShape ShardReader::shape(uint64_t i) const {
  WISESR_CHECK(i < size(), "record ", i, " out of range in shard '", path_.string(), "'");
  return {shapes_[3 * i], shapes_[3 * i + 1], shapes_[3 * i + 2]};
}

void ShardReader::read(uint64_t i, std::vector<uint8_t>& out, bool verify) const {
  WISESR_CHECK(i < size(), "record ", i, " out of range in shard '", path_.string(), "' (", size(),
               " records)");
  const hsize_t start = offsets_[i];
  const hsize_t count = offsets_[i + 1] - offsets_[i];
  out.resize(count);
  if (count > 0 && direct()) {
    fs::pread_exact(fd_.get(), out.data(), count, data_offset_ + start, path_);
  } else if (count > 0) {
    std::lock_guard<std::mutex> lock(h5_mutex());
    auto file_space = h5::dataspace(WISESR_CHECK_H5(H5Dget_space(images_.get()), "H5Dget_space"));
    WISESR_CHECK_H5(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr),
                    "select record ", i);
    auto mem_space = h5::dataspace(WISESR_CHECK_H5(H5Screate_simple(1, &count, nullptr), "H5Screate"));
    WISESR_CHECK_H5(
        H5Dread(images_.get(), H5T_NATIVE_UINT8, mem_space.get(), file_space.get(), H5P_DEFAULT, out.data()),
        "cannot read record ", i, " of shard '", path_.string(), "'");
  }
  if (verify) {
    uint32_t crc = fs::crc32(out.data(), out.size());
    WISESR_CHECK(crc == crcs_[i], "record ", i, " of shard '", path_.string(),
                 "' is corrupt (CRC-32 mismatch)");
  }
}

std::string ShardReader::source_path(uint64_t i) const {
  WISESR_CHECK(i < size(), "record ", i, " out of range in shard '", path_.string(), "'");
  std::lock_guard<std::mutex> lock(h5_mutex());
  h5::Handle reopened;
  hid_t file = file_.get();
  if (!file_) {
    reopened = h5::file(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    WISESR_CHECK(reopened, "shard '", path_.string(), "' can no longer be opened");
    file = reopened.get();
  }
  auto ds = h5::dataset(WISESR_CHECK_H5(H5Dopen2(file, dset::kPaths, H5P_DEFAULT), "missing 'paths'"));
  auto file_space = h5::dataspace(WISESR_CHECK_H5(H5Dget_space(ds.get()), "H5Dget_space"));
  hsize_t start = i, count = 1;
  WISESR_CHECK_H5(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr),
                  "select path ", i);
  auto mem_space = h5::dataspace(WISESR_CHECK_H5(H5Screate_simple(1, &count, nullptr), "H5Screate"));
  auto type = h5::utf8_string_type();
  char* value = nullptr;
  WISESR_CHECK_H5(H5Dread(ds.get(), type.get(), mem_space.get(), file_space.get(), H5P_DEFAULT, &value),
                  "cannot read path ", i, " of '", path_.string(), "'");
  std::string out = value ? value : "";
  H5free_memory(value);
  return out;
}

}  // namespace wisesr::data
