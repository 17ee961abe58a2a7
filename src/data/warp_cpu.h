#pragma once
// The CPU kernel behind BatchTransform::apply_cpu: one sample's bilinear affine warp with edge
// clamping (Keras fill_mode='nearest'), the Keras channel shift and brightness, and normalisation,
// from an interleaved RGB uint8 image to planar float32. An AVX2+FMA version (8 output pixels per
// step, the 2x2 taps of each pixel fetched by two 8-byte gathers) is chosen at run time where the CPU
// has it; the scalar version is the reference and the fallback. They evaluate the same float32
// formula (the vector one with FMA contraction), so they agree to float rounding except where the
// brightness step truncates a value sitting on an integer (tests/unit/augment_test.cpp).

#include <cstddef>
#include <cstdint>

namespace wisesr::data::detail {

struct WarpSpec {
  const uint8_t* rgb = nullptr;  // in_h x in_w RGB, row_bytes apart
  int in_h = 0, in_w = 0;
  size_t row_bytes = 0;
  float affine[6] = {1, 0, 0,
                     0, 1, 0};     // output pixel (u, v) samples input (a0 u + a1 v + a2, a3 u + a4 v + a5)
  int out_size = 0;                // S: output is 3 planes of S x S
  int src_channel[3] = {0, 1, 2};  // output plane c takes input channel src_channel[c]
  float mean[3] = {0, 0, 0};       // output = (value - mean[c]) * scale[c]
  float scale[3] = {1, 1, 1};
  bool channel_shift = false;  // value + shift, clipped to the warped image's [min, max]
  float shift = 0;
  bool brightness = false;  // trunc(min(trunc(value) * factor, 255))
  float factor = 1;
};

enum class Isa { scalar, avx2 };

/// The fastest kernel this CPU runs; WISESR_CPU_KERNEL=scalar in the environment forces the scalar one
/// (for comparisons and diagnosis).
Isa best_isa();
const char* isa_name(Isa isa);

/// Writes 3 * S * S floats to out. isa must be scalar or what best_isa() allows.
void warp_normalize(const WarpSpec& spec, float* out, Isa isa);

}  // namespace wisesr::data::detail
