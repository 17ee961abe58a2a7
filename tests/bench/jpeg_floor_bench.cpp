// The libjpeg-turbo floor of `wisesr prep` per core: for each input JPEG, the time to decode it at every
// libjpeg-turbo scale k/8 that still covers the 512x512 target, and to encode a 512x512 q90 JPEG of it
// (4:2:0, as prep). No resize, no I/O: what any converter built on libjpeg-turbo (ours, PIL) pays at least.
// tests/bench/prep_bench.sh builds and runs it on its images; by hand:
//   g++ -O2 -std=c++17 tests/bench/jpeg_floor_bench.cpp -o /tmp/jpeg_floor -lturbojpeg
//   /tmp/jpeg_floor DIR/*.jpg
#include <turbojpeg.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <vector>

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

template <typename F>
double best_ms(F&& f, int reps = 5) {
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const auto t = std::chrono::steady_clock::now();
    f();
    best = std::min(best,
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  constexpr int kOut = 512;
  tjhandle dec = tjInitDecompress(), enc = tjInitCompress();
  std::map<int, std::vector<double>> decode_ms;  // scale numerator (of 8) -> per image
  std::vector<double> encode_ms;
  for (int a = 1; a < argc; ++a) {
    std::ifstream f(argv[a], std::ios::binary);
    std::vector<unsigned char> jpeg((std::istreambuf_iterator<char>(f)), {});
    int w = 0, h = 0, sub = 0, cs = 0;
    if (tjDecompressHeader3(dec, jpeg.data(), jpeg.size(), &w, &h, &sub, &cs) != 0) {
      std::fprintf(stderr, "%s: %s\n", argv[a], tjGetErrorStr2(dec));
      return 1;
    }
    std::vector<unsigned char> rgb(static_cast<size_t>(w) * h * 3);
    for (int num = 8; num >= 1; --num) {
      const int sw = (w * num + 7) / 8, sh = (h * num + 7) / 8;
      if (sw < kOut || sh < kOut) break;
      decode_ms[num].push_back(best_ms([&] {
        tjDecompress2(dec, jpeg.data(), jpeg.size(), rgb.data(), sw, 0, sh, TJPF_RGB, TJFLAG_ACCURATEDCT);
      }));
    }
    // A 512x512 image of the decoded content (nearest neighbour), encoded as prep stores it.
    std::vector<unsigned char> small(static_cast<size_t>(kOut) * kOut * 3);
    for (int y = 0; y < kOut; ++y)
      for (int x = 0; x < kOut; ++x)
        for (int c = 0; c < 3; ++c)
          small[(static_cast<size_t>(y) * kOut + x) * 3 + c] =
              rgb[(static_cast<size_t>(y * h / kOut) * w + x * w / kOut) * 3 + c];
    unsigned char* out = nullptr;
    unsigned long out_size = 0;
    encode_ms.push_back(best_ms([&] {
      tjCompress2(enc, small.data(), kOut, 0, kOut, TJPF_RGB, &out, &out_size, TJSAMP_420, 90, 0);
    }));
    tjFree(out);
  }
  const double enc_ms = median(encode_ms);
  std::printf("%d images; encode 512x512 q90: %.2f ms (median)\n", argc - 1, enc_ms);
  for (auto it = decode_ms.rbegin(); it != decode_ms.rend(); ++it) {
    const double d = median(it->second);
    std::printf("decode at %d/8: %.2f ms -> floor %.0f images/s/core (decode + encode only)\n", it->first, d,
                1000.0 / (d + enc_ms));
  }
  tjDestroy(dec);
  tjDestroy(enc);
}
