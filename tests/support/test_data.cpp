#include "test_data.h"

#include <unistd.h>

#include <algorithm>
#include <random>
#include <stdexcept>

#include "data/manifest.h"
#include "data/sampler.h"
#include "data/shard_writer.h"

namespace wisesr::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "wisesr-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::TempDir(std::filesystem::path existing) : path_(std::move(existing)) {
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<uint8_t> encode_jpeg(const std::vector<uint8_t>& rgb, int height, int width, int quality,
                                 int subsampling, bool progressive) {
  tjhandle h = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  int rc = tjCompress2(h, rgb.data(), width, 0, height, TJPF_RGB, &buf, &size, subsampling, quality,
                       TJFLAG_ACCURATEDCT | (progressive ? TJFLAG_PROGRESSIVE : 0));
  std::vector<uint8_t> out;
  if (rc == 0) out.assign(buf, buf + size);
  tjFree(buf);
  tjDestroy(h);
  if (rc != 0) throw std::runtime_error("tjCompress2 failed");
  return out;
}

std::vector<uint8_t> test_image(int label, int index, int size) {
  std::vector<uint8_t> rgb(static_cast<size_t>(size) * size * 3);
  uint64_t state = data::mix64(static_cast<uint64_t>(label) * 7777 + static_cast<uint64_t>(index));
  const int base[3] = {40 + 60 * (label % 3), 40 + 50 * ((label / 3) % 3), 200 - 40 * (label % 4)};
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      for (int c = 0; c < 3; ++c) {
        state = data::mix64(state);
        const int v = base[c] + static_cast<int>(state % 41) - 20 + (x * c - y) / 8;
        rgb[(static_cast<size_t>(y) * size + x) * 3 + c] = static_cast<uint8_t>(std::clamp(v, 0, 255));
      }
    }
  }
  return rgb;
}

std::vector<std::string> write_tiny_dataset(const std::filesystem::path& dir, const TinyDatasetSpec& spec) {
  std::filesystem::create_directories(dir);
  data::Manifest m;
  m.tool_version = "test";
  for (int c = 0; c < spec.classes; ++c) m.classes.push_back("class_" + std::to_string(c));
  m.image_size = spec.size;
  for (const auto& [split, per_class] : {std::pair<std::string, int>{"train", spec.train_per_class},
                                         std::pair<std::string, int>{"val", spec.val_per_class}}) {
    data::SplitManifest sm;
    sm.class_counts.assign(spec.classes, 0);
    data::ShardInfo info;
    info.image_size = spec.size;
    info.split = split;
    info.class_names = m.classes;
    std::unique_ptr<data::ShardWriter> w;
    const int total = per_class * spec.classes;
    const bool val = split == "val";
    const std::set<int>& corrupt = val ? spec.corrupt_val : spec.corrupt_train;
    for (int i = 0; i < total; ++i) {
      if (val && spec.omit_val.count(i)) continue;
      const int label = i % spec.classes, index = i / spec.classes + (val ? 1000 : 0);
      if (!w) {
        w = std::make_unique<data::ShardWriter>(
            dir / (split + "-" + std::to_string(sm.shards.size()) + ".h5"), info);
      }
      const std::vector<uint8_t> broken = {0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0};  // a JPEG header, then nothing
      w->add(
          corrupt.count(i) ? broken : encode_jpeg(test_image(label, index, spec.size), spec.size, spec.size),
          label, {static_cast<uint32_t>(spec.size), static_cast<uint32_t>(spec.size), 3},
          m.classes[label] + "/" + std::to_string(index) + ".jpg");
      ++sm.class_counts[label];
      ++sm.records;
      if (w->records() >= spec.shard_records) {
        sm.shards.push_back(w->finish());
        w.reset();
      }
    }
    if (w) sm.shards.push_back(w->finish());
    m.splits[split] = sm;
  }
  m.save(dir);
  return m.classes;
}

}  // namespace wisesr::testing
