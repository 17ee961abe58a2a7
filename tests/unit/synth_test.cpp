// The synthetic tasks' invariants (data_prep/synth.h): in `center` only the centre cell tells the classes
// apart; every image of every class holds the same set of patterns.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>
#include <vector>

#include "synth.h"

namespace wisesr::prep {
namespace {

TEST(SynthCenter, CentreCellIsTheLabelAndEveryImageHoldsEveryPatternOnce) {
  for (int classes : {2, 4, 8}) {
    for (int label = 0; label < classes; ++label) {
      for (int index = 0; index < 50; ++index) {
        const auto cells = center_cells(classes, 7, label, index);
        EXPECT_EQ(cells[kSynthGrid * kSynthGrid / 2], label);
        std::vector<int> patterns;
        for (int c : cells)
          if (c >= 0) patterns.push_back(c);
        std::sort(patterns.begin(), patterns.end());
        std::vector<int> all(static_cast<size_t>(classes));
        for (int k = 0; k < classes; ++k) all[static_cast<size_t>(k)] = k;
        EXPECT_EQ(patterns, all) << "classes " << classes << " label " << label << " image " << index;
      }
    }
  }
}

TEST(SynthCenter, OuterCellsVaryAndRenderingIsDeterministic) {
  std::set<std::array<int, kSynthGrid * kSynthGrid>> layouts;
  for (int index = 0; index < 40; ++index) layouts.insert(center_cells(4, 1, 2, index));
  EXPECT_GT(layouts.size(), 20u);  // the outer patterns' places are random, not a class signature
  const cv::Mat a = render_center(4, 64, 1, 2, 3), b = render_center(4, 64, 1, 2, 3),
                c = render_center(4, 64, 1, 2, 4);
  ASSERT_EQ(a.rows, 64);
  EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0);
  EXPECT_GT(cv::norm(a, c, cv::NORM_INF), 0);
}

}  // namespace
}  // namespace wisesr::prep
