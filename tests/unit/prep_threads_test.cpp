// prep and verify parallelise across files with their own --threads pool; OpenCV must not add its own
// threads inside each resize and decode (oversubscribed cores, and a "--threads 1" benchmark row that
// used more than one core). Built only where OpenCV is.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "commands.h"
#include "test_data.h"

namespace wisesr::prep {
namespace {

// The threads OpenCV's parallel_for_ runs 16 stripes of 2 ms on.
size_t opencv_threads_used() {
  std::mutex m;
  std::set<std::thread::id> ids;
  cv::parallel_for_(
      cv::Range(0, 16),
      [&](const cv::Range& r) {
        for (int i = r.start; i < r.end; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          std::lock_guard<std::mutex> lock(m);
          ids.insert(std::this_thread::get_id());
        }
      },
      16);
  return ids.size();
}

TEST(PrepThreads, PrepRunsOpenCvOnTheCallingThreadOnly) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one core: OpenCV has no pool to turn off";
  testing::TempDir dir;
  prep::SynthOptions synth;
  synth.out = (dir.path() / "images").string();
  synth.classes = 2;
  synth.per_class = 3;
  synth.size = 96;
  run_synth(synth);
  // As OpenCV starts (verify calls the same function, but OpenCV's thread limit cannot be raised again
  // within one process to check it too).
  ASSERT_GT(opencv_threads_used(), 1u) << "OpenCV has no thread pool here: this test would prove nothing";

  prep::PrepOptions prep;
  prep.input = synth.out;
  prep.out = (dir.path() / "shards").string();
  prep.size = 64;  // a real downscale: resize runs
  prep.threads = 1;
  run_prep(prep);
  EXPECT_EQ(opencv_threads_used(), 1u) << "prep left OpenCV's own thread pool on";
}

}  // namespace
}  // namespace wisesr::prep
