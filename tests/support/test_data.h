#pragma once
// Test fixtures shared by the unit and MPI suites: temporary directories and tiny prepared datasets
// written without OpenCV (libjpeg-turbo encodes), so every suite runs in a build without OpenCV too.

#include <turbojpeg.h>

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"

namespace wisesr::testing {

/// A fresh directory under the system temp dir, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  explicit TempDir(std::filesystem::path existing);  // adopt (e.g. a path broadcast from rank 0)
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Encode an (h, w, 3) RGB buffer as JPEG with libjpeg-turbo (baseline 4:4:4 unless asked otherwise).
std::vector<uint8_t> encode_jpeg(const std::vector<uint8_t>& rgb, int height, int width, int quality = 90,
                                 int subsampling = TJSAMP_444, bool progressive = false);

/// Deterministic RGB test image whose mean colour depends on the label (so a model can learn it).
std::vector<uint8_t> test_image(int label, int index, int size);

struct TinyDatasetSpec {
  int classes = 3;
  int train_per_class = 4;
  int val_per_class = 2;
  int size = 64;
  uint64_t shard_records = 5;  // small, so splits span several shards
  /// Records (index within their split) stored as undecodable JPEG bytes with a valid CRC: the loader
  /// skips each with a warning naming its shard and record, and marks it invalid.
  std::set<int> corrupt_train, corrupt_val;
  /// Records of the val split left out (the others keep their images and labels).
  std::set<int> omit_val;
};

/// Write <dir>/index.json + train/val shards; returns the class names.
std::vector<std::string> write_tiny_dataset(const std::filesystem::path& dir, const TinyDatasetSpec& spec);

/// The message (without location) of the wisesr::Error that fn throws; "" when it throws none.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

}  // namespace wisesr::testing
