#include <gtest/gtest.h>

#include <atomic>
#include <fstream>

#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/thread_pool.h"
#include "test_data.h"

namespace wisesr {
namespace {

TEST(Fs, AtomicWriteReplacesAndLeavesNoTempFile) {
  testing::TempDir dir;
  const auto p = dir.path() / "a.txt";
  fs::write_file_atomic(p, "first");
  fs::write_file_atomic(p, "second");
  EXPECT_EQ(fs::read_file(p), "second");
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
}

TEST(Fs, ErrorsNameThePath) {
  try {
    fs::read_file("/nonexistent/wisesr/file");
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/wisesr/file"), std::string::npos);
  }
  EXPECT_THROW(fs::write_file_atomic("/nonexistent/dir/x", "y"), Error);
}

TEST(Error, MessageIsOneLineWithARepositoryRelativeLocation) {
  try {
    WISESR_THROW("value ", 3, " is bad");
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.message(), "value 3 is bad");
    EXPECT_NE(what.find("value 3 is bad (tests/unit/core_test.cpp:"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos);
  }
}

// Messages quote user input (a config file's bytes, a file name): no raw control or non-UTF-8 byte in them.
TEST(Error, RawBytesOfQuotedInputAreEscaped) {
  const std::string raw = std::string(
                              "\x7f"
                              "ELF\x02\x01\x01",
                              7) +
                          std::string(1, '\0') + "\x1b[2J\xff\xfe";
  try {
    WISESR_THROW("name '", raw, "' dög 狗\tend");
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "name '\\x7fELF\\x02\\x01\\x01\\x00\\x1b[2J\\xff\\xfe' dög 狗\\x09end");
    EXPECT_EQ(find_non_text_byte(e.what()), std::string::npos) << e.what();
  }
  try {  // a library's multi-line message keeps its newline, so first_line() still cuts it there
    WISESR_THROW("first\nsecond");
  } catch (const Error& e) {
    EXPECT_EQ(first_line(e.message()), "first");
  }
}

TEST(Log, WarningsEscapeRawBytesButKeepTheirLines) {
  // A warning quoting a folder name (e.g. "class '...' has no training inputs") never writes raw bytes.
  ::testing::internal::CaptureStderr();
  LOG_WARN("class 'a\x1b[2Jb' skipped\nsecond line \xff");
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out, "warning: class 'a\\x1b[2Jb' skipped\nsecond line \\xff\n");
}

TEST(Strings, PrintableAndTextBytes) {
  EXPECT_EQ(printable("plain ascii, dög, 狗, 🙂"),
            "plain ascii, dög, 狗, 🙂");  // UTF-8 text unchanged
  EXPECT_EQ(printable("a\x7f"
                      "b"),
            "a\\x7fb");
  EXPECT_EQ(printable("\xc3"), "\\xc3");                       // a truncated sequence
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");              // an overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");     // a UTF-16 surrogate
  EXPECT_EQ(printable(printable("\x01")), printable("\x01"));  // escaping twice changes nothing more
  EXPECT_EQ(find_non_text_byte("[train]\r\nepochs = 1\t# dög\n"), std::string::npos);
  EXPECT_EQ(find_non_text_byte("ok\n\x01"), 3u);
  EXPECT_EQ(find_non_text_byte("ok \xff"), 3u);
}

TEST(Fs, Crc32MatchesKnownValue) {
  const std::string s = "123456789";
  EXPECT_EQ(fs::crc32(s.data(), s.size()), 0xCBF43926u);  // the standard CRC-32 check value
}

TEST(ThreadPool, RunsEveryIndexOnceForAnyThreadCount) {
  for (size_t threads : {0, 1, 3}) {
    ThreadPool pool(threads);
    std::vector<std::atomic<int>> hits(1000);
    pool.parallel_for(hits.size(), [&](size_t i) { hits[i]++; });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1) << threads << " threads";
  }
}

TEST(ThreadPool, RethrowsTaskErrors) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(100, [](size_t i) { WISESR_CHECK(i != 57, "boom at ", i); }), Error);
  std::atomic<int> n{0};
  pool.parallel_for(10, [&](size_t) { n++; });  // still usable afterwards
  EXPECT_EQ(n.load(), 10);
}

}  // namespace
}  // namespace wisesr
