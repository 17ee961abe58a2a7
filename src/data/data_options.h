#pragma once
// The data layer's option groups: where the shards are and how they are read and decoded (DataOptions),
// and the training augmentation with the input normalisation (AugmentOptions). Plain structs with their
// defaults; each group declares its options once, in visit_options(), which the command line, the INI
// files, --help and the resolved config.ini are generated from (config/cli.h), in every subcommand that
// takes them, under one spelling: --data.<key> (INI section [data]).
//
// Usage:
//   data::DataOptions d;           // defaults
//   d.dir = "shards";              // or: config::parse_train_args(...) fills it from --data.dir
//   d.validate();                  // throws naming the bad option, e.g. "--data.prefetch must be >= 1"

#include <array>
#include <cstdint>
#include <string>

#include "core/enum.h"

namespace wisesr::data {

/// --data.decode: how JPEG records are decoded (data/device_feed.h: plan_decode).
enum class Decode { kAuto, kCpu, kNvjpeg };
constexpr auto enum_names(Decode) {
  return std::array{EnumName{Decode::kAuto, "auto"}, EnumName{Decode::kCpu, "cpu"},
                    EnumName{Decode::kNvjpeg, "nvjpeg"}};
}

/// --data.verify: what is checked against index.json before training.
enum class Verify { kFull, kSize };
constexpr auto enum_names(Verify) {
  return std::array{EnumName{Verify::kFull, "full"}, EnumName{Verify::kSize, "size"}};
}

/// --data.augment: the training augmentation recipe (data/augment.h implements them).
enum class Augment { kNone, kFlip, kKeras, kImagenet };
constexpr auto enum_names(Augment) {
  return std::array{EnumName{Augment::kNone, "none"}, EnumName{Augment::kFlip, "flip"},
                    EnumName{Augment::kKeras, "keras"}, EnumName{Augment::kImagenet, "imagenet"}};
}

/// --data.normalize: the input normalisation.
enum class Normalize { kCaffe, kImagenet };
constexpr auto enum_names(Normalize) {
  return std::array{EnumName{Normalize::kCaffe, "caffe"}, EnumName{Normalize::kImagenet, "imagenet"}};
}

struct DataOptions {
  static constexpr const char* kSection = "data";
  static constexpr const char* kCaption = "Data";
  static constexpr int kMinImageSize = 8;     // as `wisesr prep --size`
  static constexpr int kMaxImageSize = 8192;  // as `wisesr prep --size`
  static constexpr int kMaxPrefetch = 64;     // batches held per rank: 64 x a batch of pinned memory

  std::string dir;  // directory written by `wisesr prep` (index.json + shards)
  std::string train_split = "train";
  std::string val_split = "val";
  int image_size = 0;             // 0 = the size the shards were prepared at
  int workers = 0;                // decode threads per rank besides the prefetch thread; 0 = automatic
  int prefetch = 3;               // batches decoded ahead per rank
  Decode decode = Decode::kAuto;  // nvJPEG on a CUDA device when the build has it, else the CPU
  Verify verify = Verify::kFull;  // before training: SHA-256 of every shard, or sizes and counts only
  int64_t max_bad_records = 100;  // corrupt records skipped (per rank) before the run stops

  /// Throws wisesr::Error naming the first bad option (--data.<key>).
  void validate() const;
};

template <typename F>
void visit_options(DataOptions& o, F&& f) {
  f("dir", o.dir, "prepared dataset directory (output of 'wisesr prep')");
  f("train_split", o.train_split, "split used for training");
  f("val_split", o.val_split, "split used for evaluation");
  f("image_size", o.image_size,
    "input size in pixels, in [8, 8192]; 0 = the size the shards were prepared at");
  f("workers", o.workers,
    "JPEG decode threads per rank besides the prefetch thread (which decodes too); 0 = automatic (intra-op "
    "threads - 1); at most max(256, 4 x hardware threads)");
  f("prefetch", o.prefetch, "batches decoded ahead per rank, in [1, 64]");
  f("decode", o.decode,
    "JPEG decoding: auto (nvjpeg on a GPU when the build has it, else cpu) | cpu (libjpeg-turbo threads) | "
    "nvjpeg (batched on the GPU; hardware engines where present)");
  f("verify", o.verify,
    "before training, check shards against index.json: full (SHA-256, the ranks share the work) | size "
    "(file sizes and record counts only; always done)");
  f("max_bad_records", o.max_bad_records,
    "corrupt records a rank skips (with a warning naming shard and index) before the run stops");
}

struct AugmentOptions {
  static constexpr const char* kSection = "data";
  static constexpr const char* kCaption = "Augmentation and normalisation";

  Augment augment = Augment::kKeras;        // the paper's
  Normalize normalize = Normalize::kCaffe;  // the paper's
  bool hflip = true;                        // flip, keras, imagenet (horizontal only)
  bool vflip = true;                        // flip, keras
  double rotation = 360;                    // keras: degrees, uniform in [-r, r]
  double shift = 0.1;                       // keras: width and height shift, fraction of the side, in [-s, s]
  double zoom = 0.2;                        // keras: x and y zoom independently uniform in [1 - z, 1 + z]
  double channel_shift = 50;                // keras: one offset for all channels, uniform in [-c, c]
  double brightness_min = 0.0;              // keras: brightness factor uniform in [min, max];
  double brightness_max = 1.2;              //        min = max = 1 turns it off
  double crop_scale_min = 0.08;             // imagenet: area fraction of the random-resized crop
  double crop_ratio_max = 4.0 / 3;          // imagenet: aspect ratio in [1/r, r] (log-uniform)

  /// Throws wisesr::Error naming the first bad option (--data.<key>).
  void validate() const;
};

template <typename F>
void visit_options(AugmentOptions& o, F&& f) {
  f("augment", o.augment,
    "training augmentation: keras (the paper's ImageDataGenerator) | imagenet (random-resized-crop + flip) | "
    "flip | none");
  f("normalize", o.normalize,
    "input normalisation: caffe (BGR minus ImageNet means; the paper's) | imagenet (RGB mean/std)");
  f("hflip", o.hflip, "random horizontal flips (keras, imagenet and flip recipes)");
  f("vflip", o.vflip, "random vertical flips (keras and flip recipes)");
  f("rotation", o.rotation, "keras: rotation range in degrees (paper: 360)");
  f("shift", o.shift, "keras: width/height shift range, fraction of the side (paper: 0.1)");
  f("zoom", o.zoom, "keras: zoom range (paper: 0.2)");
  f("channel_shift", o.channel_shift, "keras: channel shift range (paper: 50)");
  f("brightness_min", o.brightness_min, "keras: brightness range minimum (paper: 0)");
  f("brightness_max", o.brightness_max, "keras: brightness range maximum (paper: 1.2)");
  f("crop_scale_min", o.crop_scale_min, "imagenet: smallest area fraction of the crop");
  f("crop_ratio_max", o.crop_ratio_max, "imagenet: crop aspect ratios lie in [1/r, r] (torchvision: 4/3)");
}

}  // namespace wisesr::data
