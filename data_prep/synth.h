#pragma once
// Synthetic "spatial" dataset: every class draws the same four shapes (circle, square, triangle,
// cross) over the same kind of noisy background, but puts them in a class-specific arrangement of
// cells of a 3x3 grid. The label depends on *where* things are, not *what* they are: the situation in
// which the Wise-SrNet paper argues Global Average Pooling loses information.

#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <vector>

namespace wisesr::prep {

inline constexpr int kSynthShapes = 4;
inline constexpr int kSynthGrid = 3;

/// Cell (0..8) of each shape for each class. Fixed for the task (independent of the image seed), and
/// distinct between classes.
std::vector<std::array<int, kSynthShapes>> synth_layouts(int classes);

/// Render image `index` of class `label` (BGR, size x size), deterministic in (seed, label, index).
cv::Mat render_spatial(const std::array<int, kSynthShapes>& layout, int size, uint64_t seed, int label,
                       int index);

/// The "texture" task: class c draws pattern c (circle, square, triangle, cross, ring, horizontal
/// stripes, vertical stripes, checkerboard) three times at random places: the label is *what*, not
/// where — the control case in which GAP loses nothing.
cv::Mat render_texture(int size, uint64_t seed, int label, int index);

/// The "center" task: the label is the pattern in the centre cell of the 3x3 grid; the other `classes` - 1
/// patterns are drawn once each in random outer cells (the rest stay empty). Every image of every class
/// holds the same set of patterns, so whatever a position-blind feature detects, its average over the image
/// is the same for all classes: only *where* the patterns are tells them apart (docs/datasets.md).
cv::Mat render_center(int classes, int size, uint64_t seed, int label, int index);
/// The pattern (class) in each cell of render_center's grid, row-major, -1 = empty: `label` in the centre
/// cell, every other class once in the outer cells.
std::array<int, kSynthGrid * kSynthGrid> center_cells(int classes, uint64_t seed, int label, int index);

}  // namespace wisesr::prep
