#include "data/loader.h"

#include <cstring>

#include "core/error.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "data/jpeg_decoder.h"

namespace wisesr::data {

Loader::Loader(const ShardSet& set, std::vector<uint64_t> indices, LoaderOptions options)
    : set_(set), indices_(std::move(indices)), opt_(std::move(options)) {
  WISESR_CHECK(opt_.batch_size >= 1, "batch size must be >= 1");
  const size_t n = indices_.size(), bs = static_cast<size_t>(opt_.batch_size);
  num_batches_ = opt_.drop_last ? n / bs : (n + bs - 1) / bs;
  WISESR_CHECK(set_.manifest().storage == "jpeg" || set_.manifest().storage == "raw", "storage '",
               set_.manifest().storage, "' is not supported (jpeg, raw)");
  // Fixed-size shards (squash, center-crop) give every record the same size; short-side shards store
  // the short side = image_size and are cropped to a square of it here (seeded random position in
  // training, the centre in evaluation).
  const bool crop = set_.manifest().size_policy == "short-side";
  WISESR_CHECK(!crop || set_.manifest().image_size > 0, "short-side shards without an image_size");
  if (crop || set_.manifest().image_size > 0) {
    crop_h_ = crop_w_ = set_.manifest().image_size;
  } else if (!indices_.empty()) {
    const RecordShape s0 = set_.shape(indices_.front());
    crop_h_ = s0.height, crop_w_ = s0.width;
  }
  transform_ = opt_.transform;
  if (!transform_) {
    AugmentOptions none;
    none.recipe = "none";
    transform_ =
        std::make_shared<BatchTransform>(none, false, static_cast<int>(std::max<int64_t>(1, crop_h_)));
  }
  if (!opt_.bad_records) opt_.bad_records = std::make_shared<std::atomic<int64_t>>(0);
  WISESR_CHECK(!opt_.gpu_decoder || !opt_.transform_in_loader,
               "a loader that decodes on the GPU leaves the transform to the consumer (transform_in_loader = false)");
  pool_ = std::make_unique<ThreadPool>(static_cast<size_t>(std::max(0, opt_.workers)));
  thread_ = std::thread([this] { produce(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<Batch> Loader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [this] { return !ready_.empty() || error_ || done_; });
  if (!ready_.empty()) {
    Batch b = std::move(ready_.front());
    ready_.pop_front();
    ++consumed_;
    cv_.notify_all();
    return b;
  }
  if (error_) std::rethrow_exception(error_);
  return std::nullopt;
}

void Loader::produce() {
  try {
    for (size_t b = 0; b < num_batches_; ++b) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock,
                 [this] { return stop_ || ready_.size() < static_cast<size_t>(std::max(1, opt_.prefetch)); });
        if (stop_) return;
      }
      Batch batch = make_batch(b);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.push_back(std::move(batch));
      cv_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = std::current_exception();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  done_ = true;
  cv_.notify_all();
}

torch::Tensor Loader::buffer(at::IntArrayRef sizes, const torch::TensorOptions& options) {
  // Pinned memory comes from torch's caching host allocator, which already reuses blocks.
  if (options.pinned_memory()) return torch::empty(sizes, options);
  for (auto& t : buffers_) {
    // use_count 1 on tensor and storage: only this pool refers to it (no batch, view or copy is alive).
    if (t.use_count() == 1 && t.storage().use_count() == 1 && t.sizes() == sizes &&
        t.scalar_type() == options.dtype().toScalarType()) {
      return t;
    }
  }
  torch::Tensor t = torch::empty(sizes, options);
  if (buffers_.size() < static_cast<size_t>(opt_.prefetch) * 2 + 4) buffers_.push_back(t);
  return t;
}

Batch Loader::make_batch(size_t b) {
  const size_t bs = static_cast<size_t>(opt_.batch_size);
  const size_t first = b * bs, count = std::min(bs, indices_.size() - first);
  const int64_t h = crop_h_, w = crop_w_, n = static_cast<int64_t>(count);
  const bool crop = set_.manifest().size_policy == "short-side";
  const bool raw = set_.manifest().storage == "raw";
  // nvJPEG: the workers read and check the records; the batch is decoded on the GPU below.
  const bool gpu = opt_.gpu_decoder && !raw;
  // CPU runs: each worker transforms its sample right after decoding it (BatchTransform::apply_cpu)
  // into the float batch. Otherwise the uint8 pixels are kept for apply() on the consumer's device.
  const int out = transform_->out_size();
  const bool fused = !gpu && opt_.transform_in_loader && !opt_.pin_memory &&
                     transform_->fused_cpu(static_cast<int>(h), static_cast<int>(w));
  torch::Tensor pixels, images;
  const size_t image_bytes = static_cast<size_t>(h * w * 3);
  const size_t out_floats = static_cast<size_t>(3) * out * out;
  if (fused) {
    images = buffer({n, 3, out, out}, torch::TensorOptions().dtype(torch::kFloat));
  } else if (!gpu) {
    pixels = buffer({n, h, w, 3}, torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(opt_.pin_memory));
  }
  if (gpu && encoded_.size() < count) encoded_.resize(count);
  std::vector<GpuJpegDecoder::Item> items(gpu ? count : 0);
  torch::Tensor params = torch::empty({n, kTransformParams}, torch::kFloat);
  std::vector<int64_t> labels(count);
  std::vector<std::string> bad(count);  // why sample i is skipped ("" = fine); each i has one writer
  pool_->parallel_for(count, [&](size_t i) {
    thread_local JpegDecoder decoder;  // one reusable decompressor per decoding thread
    thread_local std::vector<uint8_t> bytes_local, scratch;
    const uint64_t rec = indices_[first + i];
    std::vector<uint8_t>& bytes = gpu ? encoded_[i] : bytes_local;
    uint8_t* slot = fused || gpu ? nullptr : pixels.data_ptr<uint8_t>() + i * image_bytes;
    labels[i] = set_.label(rec);
    const SampleTransform t = transform_->sample(opt_.seed, opt_.epoch, rec, static_cast<int>(h), static_cast<int>(w));
    BatchTransform::store(t, params, static_cast<int64_t>(i));
    try {
      set_.read(rec, bytes);  // CRC-checked
      const RecordShape s = set_.shape(rec);
      WISESR_CHECK(s.channels == 3, "record has ", s.channels, " channels, expected 3");
      WISESR_CHECK(crop ? (s.height >= h && s.width >= w) : (s.height == h && s.width == w), "record is ",
                   s.width, "x", s.height, ", batch needs ", w, "x", h);
      int64_t y0 = (s.height - h) / 2, x0 = (s.width - w) / 2;
      if (opt_.random_crop) {
        y0 = static_cast<int64_t>(crop_offset(opt_.seed, opt_.epoch, rec, 0) % (s.height - h + 1));
        x0 = static_cast<int64_t>(crop_offset(opt_.seed, opt_.epoch, rec, 1) % (s.width - w + 1));
      }
      if (gpu) {
        items[i] = GpuJpegDecoder::Item{bytes.data(), bytes.size(), s, y0, x0};
        return;
      }
      const bool whole = s.height == h && s.width == w;
      const uint8_t* src = bytes.data();  // the decoded record, s.width x s.height
      if (raw) {
        WISESR_CHECK(bytes.size() == static_cast<size_t>(s.height) * s.width * 3, "raw record holds ",
                     bytes.size(), " bytes, not ", s.width, "x", s.height, "x3");
      } else if (whole && !fused) {
        decoder.decode_rgb(bytes.data(), bytes.size(), slot, s);
        return;
      } else {
        scratch.resize(static_cast<size_t>(s.height) * s.width * 3);
        decoder.decode_rgb(bytes.data(), bytes.size(), scratch.data(), s);
        src = scratch.data();
      }
      const uint8_t* corner = src + (y0 * s.width + x0) * 3;
      if (fused) {
        transform_->apply_cpu(corner, static_cast<int>(h), static_cast<int>(w), static_cast<size_t>(s.width) * 3, t,
                              images.data_ptr<float>() + i * out_floats);
        return;
      }
      for (int64_t y = 0; y < h; ++y) {
        std::memcpy(slot + y * w * 3, corner + y * s.width * 3, static_cast<size_t>(w) * 3);
      }
    } catch (const Error& e) {
      bad[i] = e.message();
      if (gpu) {
        items[i] = GpuJpegDecoder::Item{};  // zeros
      } else if (fused) {
        std::memset(images.data_ptr<float>() + i * out_floats, 0, out_floats * sizeof(float));
      } else {
        std::memset(slot, 0, image_bytes);
      }
    }
  });
  if (gpu) pixels = opt_.gpu_decoder->decode(items, h, w, bad);
  torch::Tensor valid = torch::ones({n}, torch::kBool);
  int64_t invalid = 0;
  for (size_t i = 0; i < count; ++i) {
    if (bad[i].empty()) continue;
    const uint64_t rec = indices_[first + i];
    valid[static_cast<int64_t>(i)] = false;
    ++invalid;
    const int64_t total = ++*opt_.bad_records;
    WISESR_CHECK(total <= opt_.max_bad_records, set_.describe(rec), ": ", bad[i], " (corrupt record ", total,
                 "; --data.max_bad_records is ", opt_.max_bad_records, ")");
    LOG_WARN("skipping corrupt " << set_.describe(rec) << ": " << bad[i] << " (" << total << " of at most "
                                 << opt_.max_bad_records << ")");
  }
  Batch batch;
  batch.labels = torch::tensor(labels, torch::kInt64);
  batch.valid = valid;
  batch.num_invalid = invalid;
  if (fused) {
    batch.images = images;
  } else if (opt_.transform_in_loader) {
    batch.images = transform_->apply(pixels, params);
  } else {
    batch.pixels = pixels;
    batch.params = params;
  }
  return batch;
}

}  // namespace wisesr::data
