#include "data/warp_cpu.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string>

#include "core/error.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WISESR_WARP_AVX2 1
#include <immintrin.h>
#endif

namespace wisesr::data::detail {
namespace {

// The brightness step and the normalisation of one value of output plane c (the value is in [0, 255],
// so truncation is floor).
inline float finish(const WarpSpec& sp, float v, int c) {
  if (sp.brightness) {
    v = static_cast<float>(static_cast<int>(v)) * sp.factor;
    v = static_cast<float>(static_cast<int>(std::min(v, 255.0f)));
  }
  return (v - sp.mean[c]) * sp.scale[c];
}

// Pass 2 with the channel shift over values [from, to) of output plane c, which hold raw warped
// values; lo/hi is the warped image's range.
void shift_and_finish(const WarpSpec& sp, float* p, size_t from, size_t to, float lo, float hi, int c) {
  for (size_t i = from; i < to; ++i) p[i] = finish(sp, std::min(std::max(p[i] + sp.shift, lo), hi), c);
}

void warp_scalar(const WarpSpec& sp, float* out) {
  const int s = sp.out_size, in_w = sp.in_w, in_h = sp.in_h;
  const size_t plane = static_cast<size_t>(s) * s;
  float* dst[3];  // plane of input channel k, and its output index
  int plane_of[3];
  for (int c = 0; c < 3; ++c) dst[sp.src_channel[c]] = out + c * plane, plane_of[sp.src_channel[c]] = c;
  const float* a = sp.affine;
  const float xmax = static_cast<float>(in_w - 1), ymax = static_cast<float>(in_h - 1);
  float lo = 255, hi = 0;
  for (int v = 0; v < s; ++v) {
    const float fv = static_cast<float>(v);
    const float bx = a[1] * fv + a[2], by = a[4] * fv + a[5];
    for (int u = 0; u < s; ++u) {
      const float fu = static_cast<float>(u);
      const float x = std::min(std::max(a[0] * fu + bx, 0.0f), xmax);
      const float y = std::min(std::max(a[3] * fu + by, 0.0f), ymax);
      const int x0 = static_cast<int>(x), y0 = static_cast<int>(y);  // floor: x, y >= 0
      const int x1 = std::min(x0 + 1, in_w - 1), y1 = std::min(y0 + 1, in_h - 1);
      const float fx = x - static_cast<float>(x0), fy = y - static_cast<float>(y0);
      const uint8_t* r0 = sp.rgb + static_cast<size_t>(y0) * sp.row_bytes;
      const uint8_t* r1 = sp.rgb + static_cast<size_t>(y1) * sp.row_bytes;
      const uint8_t *p00 = r0 + x0 * 3, *p01 = r0 + x1 * 3, *p10 = r1 + x0 * 3, *p11 = r1 + x1 * 3;
      const float gx = 1 - fx, gy = 1 - fy;
      const float w00 = gx * gy, w01 = fx * gy, w10 = gx * fy, w11 = fx * fy;
      const size_t at = static_cast<size_t>(v) * s + u;
      for (int k = 0; k < 3; ++k) {
        const float val = w00 * p00[k] + w01 * p01[k] + w10 * p10[k] + w11 * p11[k];
        if (sp.channel_shift) {
          lo = std::min(lo, val), hi = std::max(hi, val);
          dst[k][at] = val;
        } else {
          dst[k][at] = finish(sp, val, plane_of[k]);
        }
      }
    }
  }
  if (!sp.channel_shift) return;
  for (int c = 0; c < 3; ++c) shift_and_finish(sp, out + c * plane, 0, plane, lo, hi, c);
}

#ifdef WISESR_WARP_AVX2

#define WISESR_AVX2 __attribute__((target("avx2,fma")))

WISESR_AVX2 inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

WISESR_AVX2 inline float hmin(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_min_ss(m, _mm_movehdup_ps(m)));
}

struct Finish8 {
  bool bright;
  __m256 factor, cap, mean, scale;
};

WISESR_AVX2 inline __m256 finish8(const Finish8& f, __m256 v) {
  if (f.bright) {
    v = _mm256_mul_ps(_mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC), f.factor);
    v = _mm256_round_ps(_mm256_min_ps(v, f.cap), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  }
  return _mm256_mul_ps(_mm256_sub_ps(v, f.mean), f.scale);
}

WISESR_AVX2 Finish8 finish8_of(const WarpSpec& sp, int c) {
  return Finish8{sp.brightness, _mm256_set1_ps(sp.factor), _mm256_set1_ps(255.0f), _mm256_set1_ps(sp.mean[c]),
                 _mm256_set1_ps(sp.scale[c])};
}

// The bilinear taps of 8 output pixels, two 8-byte gathers per image row: with x0 <= w - 2 and
// y0 <= h - 2 (the weight of the far tap reaching 1 at the right and bottom edges), the top row is
// read at its left tap, bytes [R0 G0 B0 R1 G1 B1 . .], and the bottom row two bytes earlier,
// [. . R0 G0 B0 R1 G1 B1]: neither read leaves the image (h, w >= 2), so there is no edge case.
// The gathers take pixels {0,1,4,5} and {2,3,6,7} so that one shuffle per half restores lane order.
struct Taps {
  __m256 left[3], right[3];
};

// Byte k of each 32-bit lane, as float.
template <int K>
WISESR_AVX2 inline __m256 at_byte(__m256i v) {
  if constexpr (K == 3) return _mm256_cvtepi32_ps(_mm256_srli_epi32(v, 24));
  const __m256i shifted = K ? _mm256_srli_epi32(v, 8 * K) : v;
  return _mm256_cvtepi32_ps(_mm256_and_si256(shifted, _mm256_set1_epi32(0xFF)));
}

WISESR_AVX2 inline void row_taps(const uint8_t* base, __m256i at, bool bottom, Taps& t) {
  const auto* p = reinterpret_cast<const long long*>(base);
  const __m256 a = _mm256_castsi256_ps(_mm256_i32gather_epi64(p, _mm256_castsi256_si128(at), 1));
  const __m256 b = _mm256_castsi256_ps(_mm256_i32gather_epi64(p, _mm256_extracti128_si256(at, 1), 1));
  const __m256i lo = _mm256_castps_si256(_mm256_shuffle_ps(a, b, 0x88));  // bytes 0-3 of each read
  const __m256i hi = _mm256_castps_si256(_mm256_shuffle_ps(a, b, 0xDD));  // bytes 4-7
  if (!bottom) {                                                          // [R0 G0 B0 R1 | G1 B1 . .]
    t.left[0] = at_byte<0>(lo), t.left[1] = at_byte<1>(lo), t.left[2] = at_byte<2>(lo);
    t.right[0] = at_byte<3>(lo), t.right[1] = at_byte<0>(hi), t.right[2] = at_byte<1>(hi);
  } else {  // [. . R0 G0 | B0 R1 G1 B1]
    t.left[0] = at_byte<2>(lo), t.left[1] = at_byte<3>(lo), t.left[2] = at_byte<0>(hi);
    t.right[0] = at_byte<1>(hi), t.right[1] = at_byte<2>(hi), t.right[2] = at_byte<3>(hi);
  }
}

WISESR_AVX2 void warp_avx2(const WarpSpec& sp, float* out) {
  const int s = sp.out_size, in_w = sp.in_w, in_h = sp.in_h;
  const size_t plane = static_cast<size_t>(s) * s;
  float* dst[3];
  Finish8 fin[3];  // per input channel
  for (int c = 0; c < 3; ++c) {
    dst[sp.src_channel[c]] = out + c * plane;
    fin[sp.src_channel[c]] = finish8_of(sp, c);
  }
  const float* a = sp.affine;
  const __m256 a0 = _mm256_set1_ps(a[0]), a3 = _mm256_set1_ps(a[3]);
  const __m256 zero = _mm256_setzero_ps();
  const __m256 xmax = _mm256_set1_ps(static_cast<float>(in_w - 1));
  const __m256 ymax = _mm256_set1_ps(static_cast<float>(in_h - 1));
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256i w2 = _mm256_set1_epi32(in_w - 2), h2 = _mm256_set1_epi32(in_h - 2);
  const __m256i rb = _mm256_set1_epi32(static_cast<int>(sp.row_bytes));
  const __m256i bottom_at = _mm256_set1_epi32(static_cast<int>(sp.row_bytes) - 2);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i gather_order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
  const __m256i ulast = _mm256_set1_epi32(s - 1);
  __m256 lo = _mm256_set1_ps(255.0f), hi = zero;
  for (int v = 0; v < s; ++v) {
    const float fv = static_cast<float>(v);
    const __m256 bx = _mm256_set1_ps(a[1] * fv + a[2]), by = _mm256_set1_ps(a[4] * fv + a[5]);
    const size_t row = static_cast<size_t>(v) * s;
    for (int u = 0; u < s; u += 8) {
      // Lanes past the row's end repeat its last pixel (harmless for the range) and are not stored.
      const __m256i iu = _mm256_add_epi32(_mm256_set1_epi32(u), lane);
      const __m256 fu = _mm256_cvtepi32_ps(_mm256_min_epi32(iu, ulast));
      const __m256 x = _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(a0, fu, bx), zero), xmax);
      const __m256 y = _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(a3, fu, by), zero), ymax);
      const __m256i x0 = _mm256_min_epi32(_mm256_cvttps_epi32(x), w2);
      const __m256i y0 = _mm256_min_epi32(_mm256_cvttps_epi32(y), h2);
      const __m256 fx = _mm256_sub_ps(x, _mm256_cvtepi32_ps(x0)),
                   fy = _mm256_sub_ps(y, _mm256_cvtepi32_ps(y0));
      const __m256 gx = _mm256_sub_ps(one, fx), gy = _mm256_sub_ps(one, fy);
      const __m256 w00 = _mm256_mul_ps(gx, gy), w01 = _mm256_mul_ps(fx, gy);
      const __m256 w10 = _mm256_mul_ps(gx, fy), w11 = _mm256_mul_ps(fx, fy);
      const __m256i top = _mm256_permutevar8x32_epi32(
          _mm256_add_epi32(_mm256_mullo_epi32(y0, rb), _mm256_add_epi32(x0, _mm256_add_epi32(x0, x0))),
          gather_order);
      Taps t0, t1;
      row_taps(sp.rgb, top, false, t0);
      row_taps(sp.rgb, _mm256_add_epi32(top, bottom_at), true, t1);
      const bool full = u + 8 <= s;
      const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(s), iu);
      for (int k = 0; k < 3; ++k) {
        __m256 val = _mm256_mul_ps(w00, t0.left[k]);
        val = _mm256_fmadd_ps(w01, t0.right[k], val);
        val = _mm256_fmadd_ps(w10, t1.left[k], val);
        val = _mm256_fmadd_ps(w11, t1.right[k], val);
        if (sp.channel_shift) {  // pass 2 finishes
          lo = _mm256_min_ps(lo, val), hi = _mm256_max_ps(hi, val);
        } else {
          val = finish8(fin[k], val);
        }
        float* d = dst[k] + row + u;
        if (full) {
          _mm256_storeu_ps(d, val);
        } else {
          _mm256_maskstore_ps(d, keep, val);
        }
      }
    }
  }
  if (!sp.channel_shift) return;
  // Pass 2: the channel shift clipped to the warped image's range, then finish. (A one-pass variant,
  // writing finish(val + cs) and fixing the vectors that cross the bound afterwards, was slower on
  // photo-like images: too many vectors sit near the image's extremes.)
  const float lo1 = hmin(lo), hi1 = hmax(hi);
  const __m256 vlo = _mm256_set1_ps(lo1), vhi = _mm256_set1_ps(hi1);
  const __m256 cs = _mm256_set1_ps(sp.shift);
  for (int c = 0; c < 3; ++c) {
    const Finish8 f = finish8_of(sp, c);
    float* p = out + c * plane;
    size_t i = 0;
    for (; i + 8 <= plane; i += 8) {
      const __m256 val = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(_mm256_loadu_ps(p + i), cs), vlo), vhi);
      _mm256_storeu_ps(p + i, finish8(f, val));
    }
    shift_and_finish(sp, p, i, plane, lo1, hi1, c);
  }
}

#endif  // WISESR_WARP_AVX2

}  // namespace

Isa best_isa() {
  static const Isa isa = [] {
    const char* forced = std::getenv("WISESR_CPU_KERNEL");
    if (forced && std::string(forced) == "scalar") return Isa::scalar;
#ifdef WISESR_WARP_AVX2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
#endif
    return Isa::scalar;
  }();
  return isa;
}

const char* isa_name(Isa isa) { return isa == Isa::avx2 ? "avx2" : "scalar"; }

void warp_normalize(const WarpSpec& spec, float* out, Isa isa) {
  WISESR_CHECK(spec.rgb && spec.in_h >= 1 && spec.in_w >= 1 && spec.out_size >= 1 &&
                   spec.row_bytes >= static_cast<size_t>(spec.in_w) * 3,
               "warp_normalize: bad image ", spec.in_w, "x", spec.in_h, " -> ", spec.out_size);
  WISESR_CHECK(isa == Isa::scalar || isa == best_isa(), "warp_normalize: this CPU lacks ", isa_name(isa));
#ifdef WISESR_WARP_AVX2
  // The vector kernel addresses bytes with int32 offsets and reads 2x2 pixel blocks.
  const size_t span =
      static_cast<size_t>(spec.in_h - 1) * spec.row_bytes + static_cast<size_t>(spec.in_w) * 3;
  if (isa == Isa::avx2 && spec.in_h >= 2 && spec.in_w >= 2 &&
      span < static_cast<size_t>(std::numeric_limits<int>::max())) {
    warp_avx2(spec, out);
    return;
  }
#endif
  warp_scalar(spec, out);
}

}  // namespace wisesr::data::detail
