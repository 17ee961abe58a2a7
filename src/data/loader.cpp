#include "data/loader.h"

#include <cstring>

#include "core/error.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "data/jpeg_decoder.h"
#include "data/preprocess.h"

namespace wisesr::data {

Loader::Loader(const ShardSet& set, std::vector<uint64_t> indices, LoaderOptions options)
    : set_(set), indices_(std::move(indices)), opt_(options) {
  WISESR_CHECK(opt_.batch_size >= 1, "batch size must be >= 1");
  const size_t n = indices_.size(), bs = static_cast<size_t>(opt_.batch_size);
  num_batches_ = opt_.drop_last ? n / bs : (n + bs - 1) / bs;
  WISESR_CHECK(set_.manifest().storage == "jpeg" || set_.manifest().storage == "raw", "storage '",
               set_.manifest().storage, "' is not supported (jpeg, raw)");
  if (!opt_.bad_records) opt_.bad_records = std::make_shared<std::atomic<int64_t>>(0);
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

Batch Loader::make_batch(size_t b) {
  const size_t bs = static_cast<size_t>(opt_.batch_size);
  const size_t first = b * bs, count = std::min(bs, indices_.size() - first);
  std::vector<std::vector<uint8_t>> bytes(count);
  std::vector<RecordShape> shapes(count);
  std::vector<int64_t> labels(count);
  std::vector<std::string> bad(count);  // why record i is skipped ("" = fine)
  for (size_t i = 0; i < count; ++i) {  // HDF5 reads stay on this thread
    const uint64_t rec = indices_[first + i];
    shapes[i] = set_.shape(rec);
    labels[i] = set_.label(rec);
    try {
      set_.read(rec, bytes[i]);
    } catch (const Error& e) {
      bad[i] = e.message();
    }
  }
  // Fixed-size shards (squash, center-crop) give every record the batch's size; short-side shards
  // store the short side = image_size and are cropped here: a seeded random crop in training, the
  // centre in evaluation.
  const bool crop = set_.manifest().size_policy == "short-side";
  const int64_t h = crop ? set_.manifest().image_size : shapes[0].height;
  const int64_t w = crop ? set_.manifest().image_size : shapes[0].width;
  const bool raw = set_.manifest().storage == "raw";
  torch::Tensor images = torch::empty({static_cast<int64_t>(count), h, w, 3}, torch::kUInt8);
  uint8_t* base = images.data_ptr<uint8_t>();
  std::memset(base, 0, static_cast<size_t>(images.numel()));
  pool_->parallel_for(count, [&](size_t i) {
    thread_local JpegDecoder decoder;  // one reusable decompressor per decoding thread
    thread_local std::vector<uint8_t> scratch;
    const uint64_t rec = indices_[first + i];
    if (!bad[i].empty()) return;
    try {
      const RecordShape s = shapes[i];
      WISESR_CHECK(s.channels == 3, "record has ", s.channels, " channels, expected 3");
      WISESR_CHECK(crop ? (s.height >= h && s.width >= w) : (s.height == h && s.width == w), "record is ",
                   s.width, "x", s.height, ", batch needs ", w, "x", h);
      uint8_t* slot = base + i * h * w * 3;
      const bool whole = s.height == h && s.width == w;
      const uint8_t* src = bytes[i].data();
      if (raw) {
        WISESR_CHECK(bytes[i].size() == static_cast<size_t>(s.height) * s.width * 3, "raw record holds ",
                     bytes[i].size(), " bytes, not ", s.width, "x", s.height, "x3");
      } else if (whole) {
        decoder.decode_rgb(bytes[i].data(), bytes[i].size(), slot, s);
        return;
      } else {
        scratch.resize(static_cast<size_t>(s.height) * s.width * 3);
        decoder.decode_rgb(bytes[i].data(), bytes[i].size(), scratch.data(), s);
        src = scratch.data();
      }
      int64_t y0 = (s.height - h) / 2, x0 = (s.width - w) / 2;
      if (opt_.random_crop) {
        y0 = static_cast<int64_t>(crop_offset(opt_.seed, opt_.epoch, rec, 0) % (s.height - h + 1));
        x0 = static_cast<int64_t>(crop_offset(opt_.seed, opt_.epoch, rec, 1) % (s.width - w + 1));
      }
      for (int64_t y = 0; y < h; ++y) {
        std::memcpy(slot + y * w * 3, src + ((y0 + y) * s.width + x0) * 3, static_cast<size_t>(w) * 3);
      }
    } catch (const Error& e) {
      bad[i] = e.message();  // each i is written by one thread only
      std::memset(base + i * h * w * 3, 0, static_cast<size_t>(h * w * 3));
    }
  });
  torch::Tensor valid = torch::ones({static_cast<int64_t>(count)}, torch::kBool);
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
  for (size_t i = 0; i < count; ++i) {
    const uint64_t rec = indices_[first + i];
    std::vector<int64_t> dims;
    if (opt_.hflip && flip_decision(opt_.seed, opt_.epoch, rec, 0)) dims.push_back(1);
    if (opt_.vflip && flip_decision(opt_.seed, opt_.epoch, rec, 1)) dims.push_back(0);
    if (!dims.empty()) images[static_cast<int64_t>(i)].copy_(images[static_cast<int64_t>(i)].flip(dims));
  }
  torch::Tensor x = caffe_preprocess(images);
  if (opt_.image_size > 0 && (opt_.image_size != h || opt_.image_size != w)) {
    namespace F = torch::nn::functional;
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{opt_.image_size, opt_.image_size})
                              .mode(torch::kBilinear)
                              .align_corners(false)
                              .antialias(true));
  }
  return {x, torch::tensor(labels, torch::kInt64), valid, invalid};
}

}  // namespace wisesr::data
