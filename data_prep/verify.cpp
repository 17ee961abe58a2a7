// `wisesr verify DIR`: is a prepared dataset intact? Checks index.json against the shards (file size,
// SHA-256, record counts, class counts, schema) and decodes every record (CRC-32 and a real decode,
// in parallel). One line per shard; the exit status says whether everything is intact.

#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "core/error.h"
#include "core/sha256.h"
#include "core/thread_pool.h"
#include "data/manifest.h"
#include "data/shard_reader.h"
#include "image_codec.h"

namespace wisesr::prep {

int run_verify(const VerifyOptions& cfg) {
  const std::filesystem::path dir(cfg.dir);
  const data::Manifest m = data::Manifest::load(dir);
  const size_t threads =
      cfg.threads > 0 ? static_cast<size_t>(cfg.threads) : std::max(1u, std::thread::hardware_concurrency());
  ThreadPool pool(threads - 1);
  use_caller_threads_only();
  int damaged = 0;
  uint64_t records = 0;
  for (const auto& [split, sm] : m.splits) {
    std::vector<uint64_t> class_counts(m.classes.size(), 0);
    uint64_t split_records = 0;
    for (const auto& sh : sm.shards) {
      const auto path = dir / sh.file;
      std::string problem;
      try {
        WISESR_CHECK(std::filesystem::is_regular_file(path), "missing");
        const auto size = std::filesystem::file_size(path);
        WISESR_CHECK(size == sh.bytes, "size ", size, " bytes, manifest says ", sh.bytes);
        if (!sh.sha256.empty())
          WISESR_CHECK(sha256_file(path) == sh.sha256, "SHA-256 differs from the manifest");
        data::ShardReader reader(path);
        WISESR_CHECK(reader.size() == sh.records, reader.size(), " records, manifest says ", sh.records);
        WISESR_CHECK(reader.info().class_names == m.classes, "class list differs from the manifest");
        WISESR_CHECK(reader.info().storage == m.storage, "storage '", reader.info().storage, "' differs");
        // HDF5 reads on this thread, decoding across the pool, in chunks of bounded memory.
        const uint64_t chunk = 512;
        for (uint64_t first = 0; first < reader.size(); first += chunk) {
          const uint64_t n = std::min(chunk, reader.size() - first);
          std::vector<std::vector<uint8_t>> bytes(n);
          for (uint64_t i = 0; i < n; ++i) reader.read(first + i, bytes[i], /*verify=*/true);
          pool.parallel_for(n, [&](size_t i) {
            try {
              decode_record(bytes[i], reader.shape(first + i), reader.info().storage);
            } catch (const Error& e) {
              WISESR_THROW("record ", first + i, ": ", e.message());
            }
          });
          for (uint64_t i = 0; i < n; ++i) ++class_counts[static_cast<size_t>(reader.label(first + i))];
        }
        split_records += reader.size();
      } catch (const Error& e) {
        problem = e.message();
      }
      if (problem.empty()) {
        std::printf("ok      %s  %llu records\n", sh.file.c_str(),
                    static_cast<unsigned long long>(sh.records));
      } else {
        std::printf("FAILED  %s  %s\n", sh.file.c_str(), problem.c_str());
        ++damaged;
      }
      std::fflush(stdout);
    }
    records += split_records;
    if (damaged == 0 && (split_records != sm.records || class_counts != sm.class_counts)) {
      std::printf("FAILED  split %s: counts differ from the manifest\n", split.c_str());
      ++damaged;
    }
  }
  if (damaged) {
    std::printf("%d damaged shard(s) in '%s'\n", damaged, dir.string().c_str());
  } else {
    std::printf("intact: %llu records in '%s'\n", static_cast<unsigned long long>(records),
                dir.string().c_str());
  }
  return damaged;
}

}  // namespace wisesr::prep
