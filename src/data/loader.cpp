#include "data/loader.h"

#include <cstring>

#include "core/error.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "data/jpeg_decoder.h"

namespace wisesr::data {
namespace {

// One reusable decompressor per decoding thread.
JpegDecoder& thread_decoder() {
  thread_local JpegDecoder decoder;
  return decoder;
}

}  // namespace

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
    none.augment = Augment::kNone;
    transform_ =
        std::make_shared<BatchTransform>(none, false, static_cast<int>(std::max<int64_t>(1, crop_h_)));
  }
  if (!opt_.bad_records) opt_.bad_records = std::make_shared<std::atomic<int64_t>>(0);
  raw_ = set_.manifest().storage == "raw";
  crop_ = crop;
  delivery_ = opt_.delivery;
  WISESR_CHECK(
      (delivery_ == Delivery::kDevicePixels) == (opt_.gpu_decoder != nullptr),
      "a loader decodes on the GPU (Delivery::kDevicePixels) exactly when it is given a GPU decoder");
  WISESR_CHECK(!opt_.pin_memory || delivery_ == Delivery::kHostPixels,
               "pinned memory is for pixels a GPU copies (Delivery::kHostPixels)");
  if (raw_ && delivery_ == Delivery::kDevicePixels) {  // nothing to decode: pinned pixels for the GPU
    delivery_ = Delivery::kHostPixels;
    opt_.pin_memory = true;
  }
  fused_ = delivery_ == Delivery::kHostImages &&
           transform_->fused_cpu(static_cast<int>(crop_h_), static_cast<int>(crop_w_));
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

// ---- one batch: the three paths of Note [Batch delivery] ---------------------------------------

struct Loader::Window {
  RecordShape shape;       // the stored record
  int64_t y0 = 0, x0 = 0;  // top-left corner of the crop_h_ x crop_w_ window the batch takes
};

struct Loader::Slots {
  size_t first = 0, count = 0;  // indices_[first, first + count)
  std::vector<int64_t> labels;
  torch::Tensor params;          // (count, kTransformParams)
  std::vector<std::string> bad;  // why sample i is skipped ("" = fine); each i has one writer
};

Batch Loader::make_batch(size_t b) {
  Slots s = slots(b);
  Batch batch;
  switch (delivery_) {
    case Delivery::kHostImages:
      if (fused_) {
        batch = decode_transformed(s);
      } else {
        batch = decode_pixels(s, /*pinned=*/false);
        batch.images = transform_->apply(batch.pixels, s.params);
        batch.pixels = torch::Tensor();
      }
      break;
    case Delivery::kHostPixels:
      batch = decode_pixels(s, opt_.pin_memory);
      batch.params = s.params;
      break;
    case Delivery::kDevicePixels:
      batch = decode_on_device(s);
      batch.params = s.params;
      break;
  }
  batch.labels = torch::tensor(s.labels, torch::kInt64);
  skip_invalid(s, batch);
  return batch;
}

Loader::Slots Loader::slots(size_t b) const {
  const size_t bs = static_cast<size_t>(opt_.batch_size);
  Slots s;
  s.first = b * bs;
  s.count = std::min(bs, indices_.size() - s.first);
  s.labels.resize(s.count);
  s.params = torch::empty({static_cast<int64_t>(s.count), kTransformParams}, torch::kFloat);
  s.bad.resize(s.count);
  return s;
}

SampleTransform Loader::prepare(Slots& s, size_t i) const {
  const uint64_t rec = indices_[s.first + i];
  s.labels[i] = set_.label(rec);
  const SampleTransform t =
      transform_->sample(opt_.seed, opt_.epoch, rec, static_cast<int>(crop_h_), static_cast<int>(crop_w_));
  BatchTransform::store(t, s.params, static_cast<int64_t>(i));
  return t;
}

Loader::Window Loader::read(uint64_t record, std::vector<uint8_t>& bytes) const {
  const int64_t h = crop_h_, w = crop_w_;
  set_.read(record, bytes);  // CRC-checked
  Window win{set_.shape(record)};
  const RecordShape& s = win.shape;
  WISESR_CHECK(s.channels == 3, "record has ", s.channels, " channels, expected 3");
  WISESR_CHECK(crop_ ? (s.height >= h && s.width >= w) : (s.height == h && s.width == w), "record is ",
               s.width, "x", s.height, ", batch needs ", w, "x", h);
  WISESR_CHECK(!raw_ || bytes.size() == static_cast<size_t>(s.height) * s.width * 3, "raw record holds ",
               bytes.size(), " bytes, not ", s.width, "x", s.height, "x3");
  win.y0 = (s.height - h) / 2;
  win.x0 = (s.width - w) / 2;
  if (opt_.random_crop) {
    win.y0 = static_cast<int64_t>(crop_offset(opt_.seed, opt_.epoch, record, 0) % (s.height - h + 1));
    win.x0 = static_cast<int64_t>(crop_offset(opt_.seed, opt_.epoch, record, 1) % (s.width - w + 1));
  }
  return win;
}

// The window's top-left pixel in the decoded record (rows s.width * 3 bytes apart): the raw bytes
// themselves, or the record decoded into `scratch` by this thread's decompressor.
const uint8_t* Loader::decoded(const std::vector<uint8_t>& bytes, const Window& w,
                               std::vector<uint8_t>& scratch) const {
  const uint8_t* src = bytes.data();
  if (!raw_) {
    scratch.resize(static_cast<size_t>(w.shape.height) * w.shape.width * 3);
    thread_decoder().decode_rgb(bytes.data(), bytes.size(), scratch.data(), w.shape);
    src = scratch.data();
  }
  return src + (w.y0 * w.shape.width + w.x0) * 3;
}

// kHostImages, fused: decode and transform each sample in the worker that read it.
Batch Loader::decode_transformed(Slots& s) {
  const int out = transform_->out_size();
  const size_t out_floats = static_cast<size_t>(3) * out * out;
  Batch batch;
  batch.images =
      buffer({static_cast<int64_t>(s.count), 3, out, out}, torch::TensorOptions().dtype(torch::kFloat));
  float* images = batch.images.data_ptr<float>();
  pool_->parallel_for(s.count, [&](size_t i) {
    thread_local std::vector<uint8_t> bytes, scratch;
    const SampleTransform t = prepare(s, i);
    try {
      const Window w = read(indices_[s.first + i], bytes);
      transform_->apply_cpu(decoded(bytes, w, scratch), static_cast<int>(crop_h_), static_cast<int>(crop_w_),
                            static_cast<size_t>(w.shape.width) * 3, t, images + i * out_floats);
    } catch (const Error& e) {
      s.bad[i] = e.message();
      std::memset(images + i * out_floats, 0, out_floats * sizeof(float));
    }
  });
  return batch;
}

// kHostPixels (and the unfused kHostImages): each sample's window as uint8 RGB into the pixel buffer.
Batch Loader::decode_pixels(Slots& s, bool pinned) {
  const int64_t h = crop_h_, w = crop_w_;
  const size_t image_bytes = static_cast<size_t>(h * w * 3);
  Batch batch;
  batch.pixels = buffer({static_cast<int64_t>(s.count), h, w, 3},
                        torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(pinned));
  uint8_t* pixels = batch.pixels.data_ptr<uint8_t>();
  pool_->parallel_for(s.count, [&](size_t i) {
    thread_local std::vector<uint8_t> bytes, scratch;
    uint8_t* slot = pixels + i * image_bytes;
    prepare(s, i);
    try {
      const Window win = read(indices_[s.first + i], bytes);
      if (!raw_ && win.shape.height == h && win.shape.width == w) {
        thread_decoder().decode_rgb(bytes.data(), bytes.size(), slot,
                                    win.shape);  // the whole record: no copy
        return;
      }
      const uint8_t* corner = decoded(bytes, win, scratch);
      for (int64_t y = 0; y < h; ++y)
        std::memcpy(slot + y * w * 3, corner + y * win.shape.width * 3, static_cast<size_t>(w) * 3);
    } catch (const Error& e) {
      s.bad[i] = e.message();
      std::memset(slot, 0, image_bytes);
    }
  });
  return batch;
}

// kDevicePixels: the workers read and check the records, then nvJPEG decodes the batch on the GPU.
Batch Loader::decode_on_device(Slots& s) {
  if (encoded_.size() < s.count) encoded_.resize(s.count);
  std::vector<GpuJpegDecoder::Item> items(s.count);
  pool_->parallel_for(s.count, [&](size_t i) {
    prepare(s, i);
    try {
      const Window w = read(indices_[s.first + i], encoded_[i]);
      items[i] = GpuJpegDecoder::Item{encoded_[i].data(), encoded_[i].size(), w.shape, w.y0, w.x0};
    } catch (const Error& e) {
      s.bad[i] = e.message();
      items[i] = GpuJpegDecoder::Item{};  // zeros
    }
  });
  Batch batch;
  batch.pixels = opt_.gpu_decoder->decode(items, crop_h_, crop_w_, s.bad);
  return batch;
}

void Loader::skip_invalid(const Slots& s, Batch& batch) const {
  batch.valid = torch::ones({static_cast<int64_t>(s.count)}, torch::kBool);
  for (size_t i = 0; i < s.count; ++i) {
    if (s.bad[i].empty()) continue;
    const uint64_t rec = indices_[s.first + i];
    batch.valid[static_cast<int64_t>(i)] = false;
    ++batch.num_invalid;
    const int64_t total = ++*opt_.bad_records;
    WISESR_CHECK(total <= opt_.max_bad_records, set_.describe(rec), ": ", s.bad[i], " (corrupt record ",
                 total, "; --data.max_bad_records is ", opt_.max_bad_records, ")");
    LOG_WARN("skipping corrupt " << set_.describe(rec) << ": " << s.bad[i] << " (" << total << " of at most "
                                 << opt_.max_bad_records << ")");
  }
}

}  // namespace wisesr::data
