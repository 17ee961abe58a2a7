#include "data/shard_writer.h"

#include "core/error.h"
#include "core/fs.h"
#include "core/h5.h"
#include "core/sha256.h"

namespace wisesr::data {
namespace {

// Dataset creation properties: no modification times in object headers, so the same records give a
// byte-identical shard (prep is deterministic, and resume checks shards by their SHA-256).
h5::Handle untimed_dcpl() {
  auto dcpl = h5::plist(WISESR_CHECK_H5(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
  WISESR_CHECK_H5(H5Pset_obj_track_times(dcpl.get(), false), "H5Pset_obj_track_times");
  return dcpl;
}

template <typename T>
void write_1d(hid_t file, const char* name, hid_t type, const std::vector<T>& values, hsize_t cols = 1) {
  hsize_t dims[2] = {values.size() / cols, cols};
  auto space =
      h5::dataspace(WISESR_CHECK_H5(H5Screate_simple(cols == 1 ? 1 : 2, dims, nullptr), "H5Screate"));
  auto dcpl = untimed_dcpl();
  auto ds = h5::dataset(
      WISESR_CHECK_H5(H5Dcreate2(file, name, type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                      "cannot create ", name));
  if (!values.empty()) {
    WISESR_CHECK_H5(H5Dwrite(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "cannot write ",
                    name, " (disk full or I/O error?)");
  }
}

void write_strings(hid_t file, const char* name, const std::vector<std::string>& values) {
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& s : values) ptrs.push_back(s.c_str());
  auto type = h5::utf8_string_type();
  hsize_t dims[1] = {values.size()};
  auto space = h5::dataspace(WISESR_CHECK_H5(H5Screate_simple(1, dims, nullptr), "H5Screate"));
  auto dcpl = untimed_dcpl();
  auto ds = h5::dataset(
      WISESR_CHECK_H5(H5Dcreate2(file, name, type.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                      "cannot create ", name));
  if (!values.empty()) {
    WISESR_CHECK_H5(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()),
                    "cannot write ", name, " (disk full or I/O error?)");
  }
}

void write_attr_string(hid_t obj, const char* name, const std::string& value) {
  auto type = h5::utf8_string_type();
  auto space = h5::dataspace(WISESR_CHECK_H5(H5Screate(H5S_SCALAR), "H5Screate"));
  auto a = h5::attribute(WISESR_CHECK_H5(
      H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), "attr ", name));
  const char* p = value.c_str();
  WISESR_CHECK_H5(H5Awrite(a.get(), type.get(), &p), "cannot write attribute ", name);
}

void write_attr_strings(hid_t obj, const char* name, const std::vector<std::string>& values) {
  std::vector<const char*> ptrs;
  for (const auto& s : values) ptrs.push_back(s.c_str());
  auto type = h5::utf8_string_type();
  hsize_t dims[1] = {values.size()};
  auto space = h5::dataspace(WISESR_CHECK_H5(H5Screate_simple(1, dims, nullptr), "H5Screate"));
  auto a = h5::attribute(WISESR_CHECK_H5(
      H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), "attr ", name));
  if (!values.empty())
    WISESR_CHECK_H5(H5Awrite(a.get(), type.get(), ptrs.data()), "cannot write attribute ", name);
}

template <typename T>
void write_attr_scalar(hid_t obj, const char* name, hid_t type, T value) {
  auto space = h5::dataspace(WISESR_CHECK_H5(H5Screate(H5S_SCALAR), "H5Screate"));
  auto a = h5::attribute(
      WISESR_CHECK_H5(H5Acreate2(obj, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT), "attr ", name));
  WISESR_CHECK_H5(H5Awrite(a.get(), type, &value), "cannot write attribute ", name);
}

}  // namespace

ShardWriter::ShardWriter(std::filesystem::path path, ShardInfo info)
    : path_(std::move(path)), info_(std::move(info)) {}

void ShardWriter::add(const std::vector<uint8_t>& bytes, int32_t label, RecordShape shape,
                      const std::string& source_path) {
  WISESR_CHECK(label >= 0 && static_cast<size_t>(label) < info_.class_names.size(), "label ", label,
               " out of range for ", info_.class_names.size(), " classes (", source_path, ")");
  data_.insert(data_.end(), bytes.begin(), bytes.end());
  offsets_.push_back(data_.size());
  labels_.push_back(label);
  shapes_.insert(shapes_.end(), {shape.height, shape.width, shape.channels});
  crcs_.push_back(fs::crc32(bytes.data(), bytes.size()));
  paths_.push_back(source_path);
}

ShardSummary ShardWriter::finish() {
  h5::quiet();
  // The shard is assembled in memory (HDF5's core driver, no backing store) and written with plain,
  // checked I/O: a full disk is then one clean error, never an HDF5 file half-flushed at exit.
  std::vector<char> image;
  {
    auto fcpl = h5::plist(WISESR_CHECK_H5(H5Pcreate(H5P_FILE_CREATE), "H5Pcreate"));
    WISESR_CHECK_H5(H5Pset_obj_track_times(fcpl.get(), false), "H5Pset_obj_track_times");
    auto fapl = h5::plist(WISESR_CHECK_H5(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate"));
    WISESR_CHECK_H5(H5Pset_fapl_core(fapl.get(), data_.size() + (1u << 20), /*backing_store=*/false),
                    "H5Pset_fapl_core");
    const std::string name = path_.string();
    auto file = h5::file(WISESR_CHECK_H5(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()),
                                         "cannot create shard '", name, "' in memory"));
    hid_t f = file.get();
    // Contiguous layout (the default) keeps every record a plain byte range in the file, so
    // readers may pread() it directly.
    write_1d(f, dset::kImages, H5T_NATIVE_UINT8, data_);
    std::vector<uint8_t>().swap(data_);  // the core driver holds a copy now
    write_1d(f, dset::kOffsets, H5T_NATIVE_UINT64, offsets_);
    write_1d(f, dset::kLabels, H5T_NATIVE_INT32, labels_);
    write_1d(f, dset::kShapes, H5T_NATIVE_UINT32, shapes_, 3);
    write_1d(f, dset::kCrc32, H5T_NATIVE_UINT32, crcs_);
    write_strings(f, dset::kPaths, paths_);
    write_attr_scalar<int32_t>(f, attr::kSchemaVersion, H5T_NATIVE_INT32, kSchemaVersion);
    write_attr_string(f, attr::kStorage, info_.storage);
    write_attr_string(f, attr::kSizePolicy, info_.size_policy);
    write_attr_scalar<int32_t>(f, attr::kJpegQuality, H5T_NATIVE_INT32, info_.jpeg_quality);
    write_attr_scalar<int32_t>(f, attr::kImageSize, H5T_NATIVE_INT32, info_.image_size);
    write_attr_scalar<uint64_t>(f, attr::kNumRecords, H5T_NATIVE_UINT64, labels_.size());
    write_attr_strings(f, attr::kClassNames, info_.class_names);
    write_attr_string(f, attr::kSplit, info_.split);
    WISESR_CHECK_H5(H5Fflush(f, H5F_SCOPE_GLOBAL), "cannot finish shard '", name, "'");
    const ssize_t size = H5Fget_file_image(f, nullptr, 0);
    WISESR_CHECK(size > 0, "cannot get the image of shard '", name, "'");
    image.resize(static_cast<size_t>(size));
    WISESR_CHECK(H5Fget_file_image(f, image.data(), image.size()) == size, "cannot get the image of shard '",
                 name, "'");
    file.close("shard '" + name + "'");
  }
  fs::write_file_atomic(path_, std::string_view(image.data(), image.size()));
  ShardSummary s;
  s.file = path_.filename().string();
  s.records = labels_.size();
  s.bytes = image.size();
  s.sha256 = sha256_bytes(image.data(), image.size());
  return s;
}

}  // namespace wisesr::data
