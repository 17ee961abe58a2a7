// `wisesr prep`: images -> train/val HDF5 shards + index.json.
//
// Deterministic: the inputs and seed fix the record order; work is done in fixed chunks appended in
// input order, so thread count does not change a byte. Each completed shard is committed (temp file,
// fsync, rename) and then recorded in <out>/prep-journal.jsonl with its SHA-256 and the input position
// it ends at. Re-running with the same options resumes: shards in the journal whose files still match
// their checksum are kept, the rest is redone. index.json is written last and marks a complete dataset.
// A full shard is committed on a background thread while the next records are decoded (the commit of
// a 256 MiB shard takes about a second: HDF5 image, write, fsync, SHA-256); at most one shard waits to
// be committed, and the journal records shards in order once each commit has finished.

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <optional>

#include "commands.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/thread_pool.h"
#include "data/manifest.h"
#include "data/shard_writer.h"
#include "image_codec.h"
#include "sources.h"
#include "wisesr/build_config.h"

namespace wisesr::prep {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

constexpr const char* kJournal = "prep-journal.jsonl";
constexpr size_t kChunk = 256;  // inputs decoded in parallel between ordered appends

struct ShardEntry {
  data::ShardSummary summary;  // file empty: no shard, only the skips at the end of a split
  uint64_t input_end = 0;      // index in the split's input order just past this shard's inputs
  std::vector<uint64_t> class_counts;
  std::vector<std::pair<std::string, std::string>> skipped;
};

json entry_json(const std::string& split, const ShardEntry& e) {
  return {{"split", split},
          {"file", e.summary.file},
          {"records", e.summary.records},
          {"bytes", e.summary.bytes},
          {"sha256", e.summary.sha256},
          {"input_end", e.input_end},
          {"class_counts", e.class_counts},
          {"skipped", e.skipped}};
}

// Everything that determines the output, so a journal is only resumed by the same prep.
std::string fingerprint(const PrepOptions& cfg, const SourceSet& set) {
  std::string s = "size=" + std::to_string(cfg.size) + ";resize=" + cfg.resize + ";storage=" + cfg.storage +
                  ";quality=" + std::to_string(cfg.quality) +
                  ";records=" + std::to_string(cfg.shard_records) + ";mb=" + std::to_string(cfg.shard_mb) +
                  ";seed=" + std::to_string(cfg.seed) + ";val=" + std::to_string(cfg.val_fraction) + ";";
  for (const auto& c : set.classes) s += c + "\n";
  for (const auto* v : {&set.train, &set.val})
    for (const auto& src : *v) s += src.rel_path + "\t" + std::to_string(src.label) + "\n";
  return sha256_bytes(s.data(), s.size());
}

class Journal {
 public:
  Journal(const stdfs::path& out, const std::string& print) : path_(out / kJournal) {
    if (stdfs::exists(path_)) {
      std::ifstream in(path_);
      std::string line;
      std::getline(in, line);
      json head = json::parse(line, nullptr, false);
      WISESR_CHECK(
          !head.is_discarded() && head.value("fingerprint", "") == print, "'", out.string(),
          "' holds an unfinished prep of other inputs or options (remove it, or re-run with the same "
          "options to resume)");
      while (std::getline(in, line)) {
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded()) break;  // a torn last line from a kill: ignore it
        entries_.push_back(j);
      }
    } else {
      fs::write_file_atomic(path_, json({{"fingerprint", print}}).dump() + "\n");
    }
  }

  const std::vector<json>& entries() const { return entries_; }

  void append(const std::string& split, const ShardEntry& e) {
    fs::AppendFile out(path_);
    out.write_line(entry_json(split, e).dump());
    out.sync();
  }

 private:
  stdfs::path path_;
  std::vector<json> entries_;
};

// Shards of a split recorded in the journal whose files are intact, in order; stops at the first that
// is missing or altered (it and everything after it is redone).
std::vector<ShardEntry> completed(const Journal& journal, const std::string& split, const stdfs::path& out) {
  std::vector<ShardEntry> done;
  for (const auto& j : journal.entries()) {
    if (j.value("split", "") != split) continue;
    ShardEntry e;
    e.summary = {j.at("file").get<std::string>(), j.at("records").get<uint64_t>(),
                 j.at("bytes").get<uint64_t>(), j.at("sha256").get<std::string>()};
    e.input_end = j.at("input_end").get<uint64_t>();
    e.class_counts = j.at("class_counts").get<std::vector<uint64_t>>();
    e.skipped = j.at("skipped").get<std::vector<std::pair<std::string, std::string>>>();
    if (!e.summary.file.empty()) {
      const auto p = out / e.summary.file;
      std::error_code ec;
      if (!stdfs::is_regular_file(p) || stdfs::file_size(p, ec) != e.summary.bytes ||
          sha256_file(p) != e.summary.sha256) {
        LOG_WARN("shard '" << p.string() << "' is missing or changed: redoing it and what follows");
        break;
      }
    }
    done.push_back(std::move(e));
  }
  return done;
}

std::string shard_name(const std::string& split, size_t index) {
  char name[64];
  std::snprintf(name, sizeof(name), "%s-%05zu.h5", split.c_str(), index);
  return name;
}

void dry_run(const PrepOptions& cfg, const SourceSet& set, const CodecOptions& codec, ThreadPool& pool) {
  std::vector<uint64_t> train(set.classes.size()), val(set.classes.size());
  for (const auto& s : set.train) ++train[s.label];
  for (const auto& s : set.val) ++val[s.label];
  std::printf("%-32s %10s %10s\n", "class", "train", "val");
  for (size_t c = 0; c < set.classes.size(); ++c) {
    std::printf("%-32s %10llu %10llu\n", set.classes[c].c_str(), static_cast<unsigned long long>(train[c]),
                static_cast<unsigned long long>(val[c]));
  }
  std::printf("%-32s %10zu %10zu\n", "total", set.train.size(), set.val.size());
  // Expected size from encoding a deterministic sample.
  const size_t n = std::min<size_t>(32, set.train.size());
  std::vector<Record> sample(n);
  pool.parallel_for(n, [&](size_t i) { sample[i] = make_record(set.train[i].file, codec); });
  double bytes = 0;
  size_t ok = 0;
  for (const auto& r : sample)
    if (r.ok) bytes += static_cast<double>(r.bytes.size()), ++ok;
  const double per = ok ? bytes / ok : 0;
  const double total = per * static_cast<double>(set.train.size() + set.val.size());
  std::printf("expected size: %.1f MiB (%.1f KiB/record from %zu sampled inputs, %s %s %d)\n",
              total / (1 << 20), per / 1024, ok, cfg.storage.c_str(), cfg.resize.c_str(), cfg.size);
  if (!set.skipped.empty())
    std::printf("%zu input(s) would be skipped before decoding\n", set.skipped.size());
}

// Removes the temporary files a killed run left in the output directory.
void remove_temporaries(const stdfs::path& out) {
  for (const auto& e : stdfs::directory_iterator(out)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 1 && name[0] == '.' && name.find(".tmp-") != std::string::npos) stdfs::remove(e.path());
  }
}

// index.json without its splits: what the dataset is and the options that made it.
data::Manifest make_manifest(const PrepOptions& cfg, const SourceSet& set) {
  data::Manifest manifest;
  manifest.tool_version = WISESR_VERSION;
  manifest.classes = set.classes;
  manifest.storage = cfg.storage;
  manifest.size_policy = cfg.resize;
  manifest.jpeg_quality = cfg.storage == "jpeg" ? cfg.quality : 0;
  manifest.image_size = cfg.size;
  manifest.options = {{"layout", to_string(cfg.layout)},
                      {"input", cfg.input},
                      {"list", cfg.list},
                      {"val_input", cfg.val_input},
                      {"val_list", cfg.val_list},
                      {"class_index", cfg.class_index},
                      {"size", std::to_string(cfg.size)},
                      {"resize", cfg.resize},
                      {"storage", cfg.storage},
                      {"quality", std::to_string(cfg.quality)},
                      {"val_fraction", std::to_string(cfg.val_fraction)},
                      {"seed", std::to_string(cfg.seed)},
                      {"shard_records", std::to_string(cfg.shard_records)},
                      {"shard_mb", std::to_string(cfg.shard_mb)}};
  return manifest;
}

// Writes one split's shards: resumes after the journal's intact shards, decodes the rest in chunks of
// kChunk inputs in parallel, appends them in input order, commits each full shard on a background thread
// (at most one in flight: see the file comment) and journals it once committed.
class SplitWriter {
 public:
  SplitWriter(const PrepOptions& cfg, const SourceSet& set, const data::Manifest& manifest, std::string split,
              const stdfs::path& out, Journal& journal,
              std::vector<std::pair<std::string, std::string>>& skipped)
      : cfg_(cfg),
        out_(out),
        split_(std::move(split)),
        journal_(journal),
        skipped_(skipped),
        classes_(set.classes.size()) {
    sm_.class_counts.assign(classes_, 0);
    info_.storage = cfg.storage;
    info_.size_policy = cfg.resize;
    info_.jpeg_quality = manifest.jpeg_quality;
    info_.image_size = cfg.size;
    info_.split = split_;
    info_.class_names = set.classes;
    reset_pending();
  }

  /// The shards the journal holds intact: counted, and continued after. Returns how many.
  size_t resume() {
    size_t n = 0;
    for (const auto& e : completed(journal_, split_, out_)) {
      account(e);
      next_ = e.input_end;
      ++n;
    }
    shard_index_ = sm_.shards.size();
    return n;
  }

  /// Every input from where resume() left off; returns the split's manifest.
  data::SplitManifest write(const std::vector<Source>& sources, ThreadPool& pool, const CodecOptions& codec) {
    for (uint64_t first = next_; first < sources.size(); first += kChunk) {
      const size_t n = std::min<size_t>(kChunk, sources.size() - first);
      std::vector<Record> records(n);
      pool.parallel_for(n, [&](size_t i) { records[i] = make_record(sources[first + i].file, codec); });
      for (size_t i = 0; i < n; ++i) add(sources[first + i], records[i], first + i);
    }
    if (writer_ || !pending_.skipped.empty()) close_shard(sources.size());
    settle();
    return std::move(sm_);
  }

 private:
  void add(const Source& src, const Record& record, uint64_t input) {
    if (!record.ok) {
      WISESR_CHECK(!cfg_.strict, "'", src.file, "': ", record.reason, " (--strict)");
      pending_.skipped.emplace_back(src.rel_path, record.reason);
      return;
    }
    if (!writer_)
      writer_ = std::make_unique<data::ShardWriter>(out_ / shard_name(split_, shard_index_++), info_);
    writer_->add(record.bytes, src.label, record.shape, src.rel_path);
    ++pending_.class_counts[static_cast<size_t>(src.label)];
    const bool full = cfg_.shard_records > 0
                          ? writer_->records() >= static_cast<uint64_t>(cfg_.shard_records)
                          : writer_->payload_bytes() >= static_cast<uint64_t>(cfg_.shard_mb * (1 << 20));
    if (full) close_shard(input + 1);
  }

  void account(const ShardEntry& e) {
    if (!e.summary.file.empty()) sm_.shards.push_back(e.summary);
    sm_.records += e.summary.records;
    for (size_t c = 0; c < e.class_counts.size() && c < sm_.class_counts.size(); ++c)
      sm_.class_counts[c] += e.class_counts[c];
    skipped_.insert(skipped_.end(), e.skipped.begin(), e.skipped.end());
  }

  // Waits for the commit in flight (rethrowing its error), then journals it.
  void settle() {
    if (!in_flight_) return;
    Commit c = std::move(*in_flight_);
    in_flight_.reset();
    if (c.summary.valid()) c.entry.summary = c.summary.get();
    journal_.append(split_, c.entry);
    account(c.entry);
  }

  // Only the commit thread calls HDF5 meanwhile (the decode threads use OpenCV, the appends only memory).
  void close_shard(uint64_t input_end) {
    pending_.input_end = input_end;
    settle();
    Commit c;
    if (writer_) c.summary = std::async(std::launch::async, [w = std::move(writer_)] { return w->finish(); });
    c.entry = std::move(pending_);
    in_flight_ = std::move(c);
    reset_pending();
  }

  void reset_pending() {
    pending_ = ShardEntry{};
    pending_.class_counts.assign(classes_, 0);
  }

  struct Commit {  // the shard being committed in the background
    std::future<data::ShardSummary> summary;
    ShardEntry entry;
  };
  const PrepOptions& cfg_;
  const stdfs::path out_;
  const std::string split_;
  Journal& journal_;
  std::vector<std::pair<std::string, std::string>>& skipped_;  // every split's, for skipped.tsv
  const size_t classes_;
  data::ShardInfo info_;
  data::SplitManifest sm_;
  uint64_t next_ = 0;       // the first input not in a completed shard
  size_t shard_index_ = 0;  // the next shard file's number
  std::unique_ptr<data::ShardWriter> writer_;
  ShardEntry pending_;
  std::optional<Commit> in_flight_;
};

std::string source_name(const PrepOptions& cfg) {
  return cfg.input.empty() ? "list '" + cfg.list + "'" : "'" + cfg.input + "'";
}

// Before anything is decoded or written: inputs a classifier can be trained on at all. With one class
// every prediction is right (top-1 = 1 whatever is learnt); without training inputs there is nothing.
void check_sources(const PrepOptions& cfg, const SourceSet& set) {
  WISESR_CHECK(set.classes.size() >= 2, source_name(cfg), " has ", set.classes.size(), " class",
               set.classes.size() == 1 ? " ('" + set.classes[0] + "')" : "es",
               ": a classifier needs at least 2 (one subfolder or label per class)");
  WISESR_CHECK(!set.train.empty(), "no training inputs in ", source_name(cfg), " (", set.val.size(),
               " for validation, ", set.skipped.size(), " skipped)");
}

// After the shards: every training input unusable, or usable images of fewer than 2 classes, is an
// error, not a dataset (no index.json; the shards and the journal are removed, skipped.tsv says why).
void check_prepared(const PrepOptions& cfg, const SourceSet& set, const data::Manifest& manifest,
                    size_t skipped, const stdfs::path& out) {
  const auto& train = manifest.splits.at("train");
  std::vector<std::string> usable;
  for (size_t c = 0; c < train.class_counts.size(); ++c)
    if (train.class_counts[c] > 0) usable.push_back(set.classes[c]);
  if (train.records > 0 && usable.size() >= 2) return;
  std::error_code ec;
  for (const auto& [name, split] : manifest.splits)
    for (const auto& sh : split.shards) stdfs::remove(out / sh.file, ec);
  stdfs::remove(out / kJournal, ec);
  const std::string tsv = (out / "skipped.tsv").string();
  WISESR_CHECK(train.records > 0, "no usable training image in ", source_name(cfg), ": all ",
               set.train.size(), " training input(s) were skipped (", skipped,
               " skipped in all; reasons in '", tsv, "')");
  WISESR_THROW("only 1 class of ", source_name(cfg), " ('", usable[0],
               "') has usable training images: a classifier needs at least 2 (", skipped,
               " input(s) skipped; reasons in '", tsv, "')");
}

// skipped.tsv, then (if the dataset is usable) index.json, written last: its presence marks a complete
// dataset; the journal goes.
void finish_dataset(const PrepOptions& cfg, const SourceSet& set, const data::Manifest& manifest,
                    const std::vector<std::pair<std::string, std::string>>& skipped) {
  const stdfs::path out(cfg.out);
  std::string tsv = "path\treason\n";
  for (const auto& [p, r] : skipped) tsv += p + "\t" + r + "\n";
  fs::write_file_atomic(out / "skipped.tsv", tsv);
  check_prepared(cfg, set, manifest, skipped.size(), out);
  manifest.save(out);
  std::error_code ec;
  stdfs::remove(out / kJournal, ec);
}

}  // namespace

void run_prep(const PrepOptions& cfg) {
  const SourceSet set = collect_sources(cfg);
  check_sources(cfg, set);
  const CodecOptions codec{cfg.size, cfg.resize, cfg.storage, cfg.quality};
  const size_t threads =
      cfg.threads > 0 ? static_cast<size_t>(cfg.threads) : std::max(1u, std::thread::hardware_concurrency());
  ThreadPool pool(threads - 1);
  use_caller_threads_only();
  if (cfg.dry_run) {
    dry_run(cfg, set, codec, pool);
    return;
  }
  const stdfs::path out(cfg.out);
  WISESR_CHECK(!stdfs::exists(out / data::kManifestName), "'", out.string(),
               "' already holds a complete dataset (check it with 'wisesr verify'; remove it to redo)");
  WISESR_CHECK(!cfg.strict || set.skipped.empty(), "'", set.skipped.empty() ? "" : set.skipped[0].first,
               "': ", set.skipped.empty() ? "" : set.skipped[0].second, " (--strict)");
  fs::ensure_dir(out);
  Journal journal(out, fingerprint(cfg, set));
  remove_temporaries(out);
  data::Manifest manifest = make_manifest(cfg, set);
  std::vector<std::pair<std::string, std::string>> skipped = set.skipped;
  size_t resumed = 0;
  for (const auto& [split, sources] :
       {std::pair<std::string, const std::vector<Source>*>{"train", &set.train},
        std::pair<std::string, const std::vector<Source>*>{"val", &set.val}}) {
    SplitWriter writer(cfg, set, manifest, split, out, journal, skipped);
    resumed += writer.resume();
    manifest.splits[split] = writer.write(*sources, pool, codec);
  }
  finish_dataset(cfg, set, manifest, skipped);
  const auto& tr = manifest.splits["train"];
  const auto& va = manifest.splits["val"];
  LOG_RANK0(
      "prepared " << tr.records << " train + " << va.records << " val records of " << set.classes.size()
                  << " classes in " << tr.shards.size() + va.shards.size() << " shard(s) at " << cfg.size
                  << " (" << cfg.resize << ", " << cfg.storage << ") -> " << out.string() << "; skipped "
                  << skipped.size() << (skipped.empty() ? "" : " (see skipped.tsv)")
                  << (resumed ? "; resumed after " + std::to_string(resumed) + " completed shard(s)" : ""));
}

}  // namespace wisesr::prep
