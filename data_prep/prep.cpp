// `wisesr prep`: class folders -> train/val HDF5 shards of JPEG records + index.json.
// Deterministic: the same inputs and seed give the same records in the same order whatever the
// thread count (work is done in fixed chunks and appended in input order).

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "commands.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "data/manifest.h"
#include "data/sampler.h"
#include "data/shard_writer.h"
#include "wisesr/build_config.h"

namespace wisesr::prep {
namespace {

namespace stdfs = std::filesystem;

struct Source {
  std::string rel_path;  // relative to the input root
  int32_t label;
};

struct Encoded {
  bool ok = false;
  std::string reason;
  std::vector<uint8_t> bytes;
};

// 0..n-1 in a seeded pseudo-random order (a hash sort: portable, unlike std::shuffle's distributions).
std::vector<size_t> hashed_order(size_t n, uint64_t seed) {
  std::vector<uint64_t> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = data::mix64(seed ^ data::mix64(i));
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  return order;
}

bool is_hidden(const stdfs::path& p) { return !p.filename().empty() && p.filename().string()[0] == '.'; }

// Sorted class folders and their files (recursively, sorted), relative to root.
std::vector<std::string> scan(const stdfs::path& root, std::vector<std::vector<std::string>>& files) {
  WISESR_CHECK(stdfs::is_directory(root), "input directory '", root.string(), "' does not exist");
  std::vector<std::string> classes;
  for (const auto& e : stdfs::directory_iterator(root)) {
    if (e.is_directory() && !is_hidden(e.path())) classes.push_back(e.path().filename().string());
  }
  std::sort(classes.begin(), classes.end());
  WISESR_CHECK(!classes.empty(), "input directory '", root.string(), "' has no class subfolders");
  for (const auto& c : classes) {
    std::vector<std::string> list;
    for (const auto& e : stdfs::recursive_directory_iterator(root / c, stdfs::directory_options::skip_permission_denied)) {
      if (!e.is_directory() && !is_hidden(e.path())) list.push_back(stdfs::relative(e.path(), root).string());
    }
    std::sort(list.begin(), list.end());
    if (list.empty()) LOG_WARN("class folder '" << (root / c).string() << "' has no files");
    files.push_back(std::move(list));
  }
  return classes;
}

Encoded encode(const stdfs::path& file, int size, int quality) {
  Encoded out;
  std::string raw;
  try {
    raw = fs::read_file(file);
  } catch (const Error& e) {
    out.reason = "unreadable";
    return out;
  }
  if (raw.empty()) {
    out.reason = "empty file";
    return out;
  }
  cv::Mat img;
  try {
    img = cv::imdecode(cv::Mat(1, static_cast<int>(raw.size()), CV_8UC1, raw.data()), cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    img.release();
  }
  if (img.empty()) {
    out.reason = "not a decodable image";
    return out;
  }
  cv::Mat resized;
  const bool down = img.cols >= size && img.rows >= size;
  cv::resize(img, resized, cv::Size(size, size), 0, 0, down ? cv::INTER_AREA : cv::INTER_CUBIC);
  if (!cv::imencode(".jpg", resized, out.bytes, {cv::IMWRITE_JPEG_QUALITY, quality})) {
    out.reason = "JPEG encode failed";
    return out;
  }
  out.ok = true;
  return out;
}

}  // namespace

void run_prep(const config::PrepConfig& cfg) {
  const stdfs::path root(cfg.input), out(cfg.out);
  std::vector<std::vector<std::string>> files;
  const auto classes = scan(root, files);
  WISESR_CHECK(!stdfs::exists(out / data::kManifestName), "'", out.string(),
               "' already holds a prepared dataset (remove it or choose another --out)");
  fs::ensure_dir(out);

  // Stratified, seeded split: each class's files in a seeded order, the first round(n * f) go to val.
  std::vector<Source> train, val;
  for (size_t c = 0; c < classes.size(); ++c) {
    const auto order = hashed_order(files[c].size(), cfg.seed ^ data::mix64(0xC1A55 + c));
    const size_t n_val = static_cast<size_t>(std::llround(cfg.val_fraction * static_cast<double>(order.size())));
    for (size_t k = 0; k < order.size(); ++k) {
      (k < n_val ? val : train).push_back({files[c][order[k]], static_cast<int32_t>(c)});
    }
  }
  // Mix classes within each split (seeded) so every shard holds every class.
  auto shuffle = [&](std::vector<Source>& v, uint64_t salt) {
    std::vector<Source> shuffled;
    shuffled.reserve(v.size());
    for (size_t i : hashed_order(v.size(), cfg.seed ^ data::mix64(salt))) shuffled.push_back(v[i]);
    v = std::move(shuffled);
  };
  shuffle(train, 0x7121);
  shuffle(val, 0x7a1);

  data::Manifest manifest;
  manifest.tool_version = WISESR_VERSION;
  manifest.classes = classes;
  manifest.storage = "jpeg";
  manifest.size_policy = "squash";
  manifest.jpeg_quality = cfg.quality;
  manifest.image_size = cfg.size;
  manifest.options = {{"input", cfg.input},
                      {"size", std::to_string(cfg.size)},
                      {"val_fraction", std::to_string(cfg.val_fraction)},
                      {"seed", std::to_string(cfg.seed)},
                      {"quality", std::to_string(cfg.quality)},
                      {"shard_records", std::to_string(cfg.shard_records)}};

  const size_t threads = cfg.threads > 0 ? static_cast<size_t>(cfg.threads)
                                         : std::max(1u, std::thread::hardware_concurrency());
  ThreadPool pool(threads - 1);
  std::vector<std::pair<std::string, std::string>> skipped;  // path, reason
  const size_t chunk = 256;

  for (const auto& [split, sources] : {std::pair<std::string, const std::vector<Source>*>{"train", &train},
                                       std::pair<std::string, const std::vector<Source>*>{"val", &val}}) {
    data::SplitManifest sm;
    sm.class_counts.assign(classes.size(), 0);
    data::ShardInfo info;
    info.jpeg_quality = cfg.quality;
    info.image_size = cfg.size;
    info.split = split;
    info.class_names = classes;
    std::unique_ptr<data::ShardWriter> writer;
    auto finish_shard = [&] {
      if (writer && writer->records() > 0) sm.shards.push_back(writer->finish());
      writer.reset();
    };
    for (size_t first = 0; first < sources->size(); first += chunk) {
      const size_t n = std::min(chunk, sources->size() - first);
      std::vector<Encoded> encoded(n);
      pool.parallel_for(n, [&](size_t i) {
        encoded[i] = encode(root / (*sources)[first + i].rel_path, cfg.size, cfg.quality);
      });
      for (size_t i = 0; i < n; ++i) {
        const Source& src = (*sources)[first + i];
        if (!encoded[i].ok) {
          WISESR_CHECK(!cfg.strict, "'", (root / src.rel_path).string(), "': ", encoded[i].reason, " (--strict)");
          skipped.emplace_back(src.rel_path, encoded[i].reason);
          continue;
        }
        if (!writer) {
          char name[64];
          std::snprintf(name, sizeof(name), "%s-%05zu.h5", split.c_str(), sm.shards.size());
          writer = std::make_unique<data::ShardWriter>(out / name, info);
        }
        writer->add(encoded[i].bytes, src.label,
                    {static_cast<uint32_t>(cfg.size), static_cast<uint32_t>(cfg.size), 3}, src.rel_path);
        ++sm.class_counts[static_cast<size_t>(src.label)];
        ++sm.records;
        if (writer->records() >= cfg.shard_records) finish_shard();
      }
    }
    finish_shard();
    manifest.splits[split] = std::move(sm);
  }

  std::string tsv = "path\treason\n";
  for (const auto& [p, r] : skipped) tsv += p + "\t" + r + "\n";
  fs::write_file_atomic(out / "skipped.tsv", tsv);
  manifest.save(out);  // written last: its presence marks a complete dataset
  const auto& tr = manifest.splits["train"];
  const auto& va = manifest.splits["val"];
  LOG_RANK0("prepared " << tr.records << " train + " << va.records << " val records of " << classes.size()
                        << " classes in " << tr.shards.size() + va.shards.size() << " shard(s) at " << cfg.size << "x"
                        << cfg.size << " q" << cfg.quality << " -> " << out.string() << "; skipped "
                        << skipped.size() << (skipped.empty() ? "" : " (see skipped.tsv)"));
}

}  // namespace wisesr::prep
