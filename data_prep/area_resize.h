#pragma once
// Pixel-area downscaling for prep's resize policies (what cv::resize calls INTER_AREA: each output pixel
// is the mean of the source area it covers, partial pixels weighted by their covered fraction).
//
// Why our own: OpenCV serves INTER_AREA with a fast path only when both factors are integers; any other
// factor (1024x768 -> 512x512, ImageNet's ~500x375 -> 224x224) takes a scalar, table-driven path that
// cost 1.6 ms per image here, a quarter of prep's time. This one is separable in the cache-friendly
// order: each output row first blends its 1-3 source rows over the whole width (contiguous, vectorised),
// then each output pixel blends its 1-3 columns of that row. Same weights as OpenCV, so results are
// within 1 of it (float summation order), and identical on every CPU: no FMA contraction, a fixed
// summation order, and the AVX2 clone computes exactly what the baseline one does.

#include <opencv2/core.hpp>

namespace wisesr::prep {

/// Downscale an 8-bit 3-channel image to width x height (each at most the source's). Throws
/// wisesr::Error for another type or an upscale.
cv::Mat area_downscale(const cv::Mat& src, int width, int height);

}  // namespace wisesr::prep
