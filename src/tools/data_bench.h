#pragma once
// `wisesr bench data`: input-pipeline throughput on prepared shards, as training reads them.
//
// Two modes timed side by side in one run, each over the same records (the split's first
// (warmup + batches) x batch records in training order, repeated if the split is smaller):
//   decode : pread + CRC + libjpeg-turbo decode into the batch buffer + normalisation (no augmentation)
//   <recipe>: the same plus the training augmentation (--data.augment and its parameters, default the
//             paper's keras recipe)
// On --train.device cpu (the default) the transform runs on the CPU (in the loader's decode threads,
// with --threads intra-op threads); on --train.device cuda the batch is decoded into pinned memory,
// copied on a side stream and transformed on the GPU, exactly as in training (data::DeviceFeed); with
// --data.decode nvjpeg (or auto on a GPU build with nvJPEG) the threads only read the records and nvJPEG
// decodes each batch on the GPU. Time runs from the end of the warm-up batches to the last batch being
// ready (device synchronised); img/s/core divides by --threads.
//
// Usage: DataBenchResult r = run_data_bench(cfg);   std::cout << format_data_bench(r);

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"

namespace wisesr::tools {

struct DataBenchRow {
  std::string mode;  // "decode" or the recipe
  int64_t images = 0;
  double seconds = 0;
  double img_per_s = 0;
  double img_per_s_per_core = 0;
};

struct DataBenchResult {
  std::string device;
  std::string storage;  // jpeg | raw
  int stored_size = 0;  // side of the stored records
  int out_size = 0;
  int threads = 0;
  std::string cpu_kernel;  // the CPU augmentation kernel (data/warp_cpu.h): avx2 | scalar
  std::string decode;      // how records were decoded: cpu | nvjpeg (backend) | none (raw shards)
  std::vector<DataBenchRow> rows;
};

DataBenchResult run_data_bench(const config::BenchDataConfig& cfg);
std::string format_data_bench(const DataBenchResult& r);

}  // namespace wisesr::tools
