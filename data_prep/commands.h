#pragma once
// Dataset-preparation subcommands. They need OpenCV; a build without it links commands_unavailable.cpp,
// whose functions fail with a clear message, so the trainer builds and runs everywhere.

#include <cstdint>
#include <string>
#include <vector>

#include "prep_options.h"

namespace wisesr::prep {

/// `wisesr synth`: write a synthetic class-folder image dataset.
void run_synth(const SynthOptions& cfg);
/// `wisesr prep`: class folders -> train/val HDF5 shards + index.json.
void run_prep(const PrepOptions& cfg);
/// `wisesr verify`: manifest <-> shards (counts, SHA-256) and every record decoded; returns the number
/// of damaged shards (0 = intact) after printing a line per shard.
int run_verify(const VerifyOptions& cfg);

/// An image file as prep stores it (any format prep reads, decoded, resized by `resize` to size x size):
/// uint8 RGB, rows of width x 3 bytes. Bad input never throws: ok = false with the reason prep would give.
/// `wisesr predict` reads its images with this, so they get prep's decoding and resizing.
struct ImageRgb {
  bool ok = false;
  std::string reason;
  std::vector<uint8_t> rgb;
  int height = 0, width = 0;
};
ImageRgb load_image_rgb(const std::string& file, int size, const std::string& resize);

/// One panel of write_panels_png: a size x size RGB image (uint8, rows of size x 3 bytes), optionally with a
/// heatmap (size x size floats in [0, 1]) blended over it in the JET colour map, and a title above it.
struct Panel {
  const uint8_t* rgb = nullptr;
  const float* heat = nullptr;
  std::string title;
};
/// The panels side by side, each scaled to at least 224 px, as a PNG (atomically). Needs OpenCV.
void write_panels_png(const std::string& file, int size, const std::vector<Panel>& panels);

}  // namespace wisesr::prep
