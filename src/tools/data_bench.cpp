#include "tools/data_bench.h"

#include <torch/torch.h>

#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/clock.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "data/device_feed.h"
#include "data/loader.h"
#include "data/sampler.h"
#include "data/shard_set.h"
#include "data/warp_cpu.h"
#include "train/runtime.h"

namespace wisesr::tools {
namespace {

// Times one mode: `augment` (the configured recipe, or kNone for plain decoding) on the same records.
DataBenchRow time_mode(const data::ShardSet& set, const config::BenchDataConfig& cfg, data::Augment augment,
                       int threads, int out_size, const torch::Device& device, const data::DecodePlan& plan) {
  const uint64_t total =
      static_cast<uint64_t>(cfg.warmup + cfg.batches) * static_cast<uint64_t>(cfg.train.batch_size);
  const auto order = data::epoch_permutation(set.size(), cfg.train.seed, 0);
  std::vector<uint64_t> idx(total);
  for (uint64_t i = 0; i < total; ++i) idx[i] = order[i % order.size()];
  data::AugmentOptions ao = cfg.augment;
  ao.augment = augment;
  data::LoaderOptions lo;
  lo.batch_size = cfg.train.batch_size;
  lo.workers = threads - 1;  // the prefetch thread decodes too
  lo.prefetch = cfg.data.prefetch;
  lo.random_crop = true;
  lo.seed = cfg.train.seed;
  lo.transform = std::make_shared<data::BatchTransform>(ao, augment != data::Augment::kNone, out_size);
  data::set_delivery(lo, device, plan);
  data::Loader loader(set, idx, lo);
  data::DeviceFeed feed(loader, device);
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };
  for (int b = 0; b < cfg.warmup; ++b) WISESR_CHECK(feed.next().has_value(), "loader ended early");
  sync();
  const auto t0 = Clock::now();
  int64_t images = 0;
  for (int b = 0; b < cfg.batches; ++b) {
    auto batch = feed.next();
    WISESR_CHECK(batch.has_value(), "loader ended early");
    images += batch->images.size(0);
  }
  sync();
  DataBenchRow row;
  row.mode = augment == data::Augment::kNone ? "decode" : to_string(augment);
  row.images = images;
  row.seconds = seconds_since(t0);
  row.img_per_s = row.seconds > 0 ? static_cast<double>(images) / row.seconds : 0;
  row.img_per_s_per_core = row.img_per_s / threads;
  return row;
}

}  // namespace

DataBenchResult run_data_bench(const config::BenchDataConfig& cfg) {
  cfg.validate();
  const int threads =
      cfg.threads > 0 ? cfg.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);  // the CPU transform's intra-op threads
  const torch::Device device = train::select_device(cfg.runtime.device, comm::ProcessGroupInfo{});
  data::ShardSet set(cfg.data.dir, cfg.data.train_split);
  WISESR_CHECK(set.size() > 0, "split '", cfg.data.train_split, "' of '", cfg.data.dir, "' is empty");
  DataBenchResult r;
  r.device = device.str();
  r.storage = set.manifest().storage;
  r.stored_size = set.manifest().image_size;
  r.out_size = cfg.data.image_size > 0 ? cfg.data.image_size : set.manifest().image_size;
  WISESR_CHECK(r.out_size > 0, "the dataset's images vary in size: set --data.image_size");
  r.threads = threads;
  r.cpu_kernel = data::detail::isa_name(data::detail::best_isa());
  const data::DecodePlan plan = data::plan_decode(cfg.data.decode, device, r.storage);
  r.decode = plan.describe();
  r.rows.push_back(time_mode(set, cfg, data::Augment::kNone, threads, r.out_size, device, plan));
  if (cfg.augment.augment != data::Augment::kNone) {
    r.rows.push_back(time_mode(set, cfg, cfg.augment.augment, threads, r.out_size, device, plan));
  }
  std::cout << format_data_bench(r) << std::flush;
  if (!cfg.json.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : r.rows) {
      rows.push_back({{"mode", row.mode},
                      {"images", row.images},
                      {"seconds", row.seconds},
                      {"img_per_s", row.img_per_s},
                      {"img_per_s_per_core", row.img_per_s_per_core}});
    }
    nlohmann::json j = {{"device", r.device},
                        {"storage", r.storage},
                        {"stored_size", r.stored_size},
                        {"out_size", r.out_size},
                        {"threads", r.threads},
                        {"cpu_kernel", r.cpu_kernel},
                        {"decode", r.decode},
                        {"batch", cfg.train.batch_size},
                        {"augment", to_string(cfg.augment.augment)},
                        {"rows", rows}};
    fs::write_file_atomic(cfg.json, j.dump(2) + "\n");
  }
  return r;
}

std::string format_data_bench(const DataBenchResult& r) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(1);
  os << "bench data: " << r.storage << " " << r.stored_size << "px -> " << r.out_size << "px on " << r.device
     << ", " << r.threads << " reader/decode thread(s), decode " << r.decode << ", CPU augmentation kernel "
     << r.cpu_kernel << "\n";
  for (const auto& row : r.rows) {
    os << "  " << std::left << std::setw(10) << row.mode << std::right << std::setw(10) << row.img_per_s
       << " img/s " << std::setw(9) << row.img_per_s_per_core << " img/s/core  (" << row.images
       << " images in " << std::setprecision(2) << row.seconds << " s)" << std::setprecision(1) << "\n";
  }
  if (r.rows.size() == 2 && r.rows[0].img_per_s > 0) {
    os << "  " << r.rows[1].mode << " / decode = " << std::setprecision(2)
       << r.rows[1].img_per_s / r.rows[0].img_per_s << "\n";
  }
  return os.str();
}

}  // namespace wisesr::tools
