#include "data/data_options.h"

#include "core/error.h"
#include "core/limits.h"

namespace wisesr::data {

void DataOptions::validate() const {
  WISESR_CHECK(image_size == 0 || (image_size >= kMinImageSize && image_size <= kMaxImageSize),
               "--data.image_size must be 0 (the shards' size) or in [", kMinImageSize, ", ", kMaxImageSize,
               "], got ", image_size);
  check_thread_option("--data.workers", workers);
  WISESR_CHECK(prefetch >= 1 && prefetch <= kMaxPrefetch, "--data.prefetch must be in [1, ", kMaxPrefetch,
               "], got ", prefetch);
  WISESR_CHECK(max_bad_records >= 0, "--data.max_bad_records must be >= 0, got ", max_bad_records);
  WISESR_CHECK(!train_split.empty(), "--data.train_split must not be empty");
  WISESR_CHECK(!val_split.empty(), "--data.val_split must not be empty");
}

void AugmentOptions::validate() const {
  WISESR_CHECK(rotation >= 0 && rotation <= 360, "--data.rotation must be in [0, 360], got ", rotation);
  WISESR_CHECK(shift >= 0 && shift < 1, "--data.shift must be in [0, 1), got ", shift);
  WISESR_CHECK(zoom >= 0 && zoom < 1, "--data.zoom must be in [0, 1), got ", zoom);
  WISESR_CHECK(channel_shift >= 0 && channel_shift <= 255, "--data.channel_shift must be in [0, 255]");
  WISESR_CHECK(brightness_min >= 0 && brightness_min <= brightness_max,
               "--data.brightness_min must be >= 0 and <= --data.brightness_max, got ", brightness_min,
               " and ", brightness_max);
  WISESR_CHECK(crop_scale_min > 0 && crop_scale_min <= 1, "--data.crop_scale_min must be in (0, 1], got ",
               crop_scale_min);
  WISESR_CHECK(crop_ratio_max >= 1, "--data.crop_ratio_max must be >= 1, got ", crop_ratio_max);
}

}  // namespace wisesr::data
