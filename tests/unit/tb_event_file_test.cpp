// TensorBoard event files (core/tb_event_file.h): the record framing and CRC against published values,
// writing and reading back, a torn tail, and the cut a resume makes. The files' readability by TensorBoard
// itself is tests/integration/tensorboard.sh's (the tensorboard package's reader).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/fs.h"
#include "core/tb_event_file.h"
#include "test_data.h"

namespace wisesr::tb {
namespace {

namespace stdfs = std::filesystem;

TEST(TbEventFile, Crc32cMatchesPublishedCheckValues) {
  // CRC-32C check value (RFC 3720 B.4 / the CRC catalogue) and the iSCSI test vector of 32 zero bytes.
  const std::string digits = "123456789";
  EXPECT_EQ(crc32c(digits.data(), digits.size()), 0xE3069283u);
  const std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  // TensorFlow's mask: rotate right 15, add 0xa282ead8.
  const uint32_t c = 0xE3069283u;
  EXPECT_EQ(masked_crc32c(digits.data(), digits.size()), ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

TEST(TbEventFile, WritesWhatItReadsBack) {
  testing::TempDir dir;
  stdfs::path path;
  {
    EventFileWriter w(dir.path() / "run");
    w.add_scalars(3, {{"train/loss", 0.75}, {"train/top1", 0.5}});
    w.add_text(0, "config", "    [model]\n    head = wise\n");
    w.add_scalars(7, {{"train/loss", 0.25}});
    path = w.path();
  }
  EXPECT_NE(path.filename().string().find("events.out.tfevents."), std::string::npos);
  ASSERT_EQ(list_event_files(dir.path() / "run"), std::vector<stdfs::path>{path});
  const EventFile f = read_event_file(path);
  EXPECT_FALSE(f.torn);
  ASSERT_EQ(f.events.size(), 4u);
  EXPECT_EQ(f.events[0].file_version, "brain.Event:2");
  EXPECT_EQ(f.events[1].step, 3);
  ASSERT_EQ(f.events[1].scalars.size(), 2u);
  EXPECT_EQ(f.events[1].scalars[0].tag, "train/loss");
  EXPECT_EQ(f.events[1].scalars[0].value, 0.75);
  ASSERT_NE(f.events[1].scalar("train/top1"), nullptr);
  EXPECT_EQ(f.events[1].scalar("train/top1")->value, 0.5);
  EXPECT_EQ(f.events[1].scalar("nope"), nullptr);
  ASSERT_EQ(f.events[2].texts.size(), 1u);
  EXPECT_EQ(f.events[2].texts[0].tag, "config");
  EXPECT_EQ(f.events[2].texts[0].markdown, "    [model]\n    head = wise\n");
  EXPECT_EQ(f.events[3].step, 7);
  EXPECT_GT(f.events[3].wall_time, 1.7e9);  // seconds since 1970, now
}

TEST(TbEventFile, TornTailIsDetectedAndTheRestKept) {
  testing::TempDir dir;
  EventFileWriter w(dir.path());
  w.add_scalars(1, {{"a", 1}});
  w.add_scalars(2, {{"a", 2}});
  const auto size = stdfs::file_size(w.path());
  stdfs::resize_file(w.path(), size - 3);  // a kill in the middle of the last record
  EventFile f = read_event_file(w.path());
  EXPECT_TRUE(f.torn);
  ASSERT_EQ(f.events.size(), 2u);
  EXPECT_EQ(f.events[1].step, 1);

  // A flipped payload byte fails the record's CRC: reading stops there too.
  std::string bytes = fs::read_file(w.path());
  bytes[bytes.size() / 2] ^= 0x40;
  fs::write_file_atomic(w.path(), bytes);
  f = read_event_file(w.path());
  EXPECT_TRUE(f.torn);
  EXPECT_LT(f.events.size(), 2u);
}

TEST(TbEventFile, CutKeepsAcceptedEventsAndRemovesEmptiedFiles) {
  testing::TempDir dir;
  stdfs::path first, second;
  {
    EventFileWriter a(dir.path());
    for (int s = 1; s <= 5; ++s) a.add_scalars(s, {{"x", static_cast<double>(s)}});
    first = a.path();
  }
  {
    // A second file (a later start), in the same second: a name of its own, sorted after the first.
    EventFileWriter b(dir.path());
    b.add_scalars(9, {{"x", 9}});
    second = b.path();
  }
  ASSERT_NE(first, second);
  EXPECT_EQ(list_event_files(dir.path()), (std::vector<stdfs::path>{first, second}));
  const std::string untouched = fs::read_file(first);
  EXPECT_EQ(cut_event_files(dir.path(), [](const Event&) { return true; }), 0u);
  EXPECT_EQ(fs::read_file(first), untouched);  // nothing dropped: not rewritten

  EXPECT_EQ(cut_event_files(dir.path(), [](const Event& e) { return e.step <= 3; }), 3u);
  EXPECT_FALSE(stdfs::exists(second));  // only its file_version event was left
  const EventFile f = read_event_file(first);
  ASSERT_EQ(f.events.size(), 4u);  // file_version + steps 1..3
  EXPECT_EQ(f.events[0].file_version, "brain.Event:2");
  EXPECT_EQ(f.events.back().step, 3);

  EXPECT_EQ(cut_event_files(dir.path(), [](const Event&) { return false; }), 3u);  // a fresh start
  EXPECT_TRUE(list_event_files(dir.path()).empty());
}

TEST(TbEventFile, ANonEventRecordIsAnErrorNamingTheFile) {
  testing::TempDir dir;
  const stdfs::path path = dir.path() / "events.out.tfevents.1.host.1.wisesr";
  // A well-framed record whose payload is not an Event (a truncated varint field).
  const std::string payload = "\x10\xff";
  std::string rec;
  const uint64_t len = payload.size();
  for (int i = 0; i < 8; ++i) rec.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  const uint32_t lcrc = masked_crc32c(rec.data(), 8);
  for (int i = 0; i < 4; ++i) rec.push_back(static_cast<char>((lcrc >> (8 * i)) & 0xff));
  rec += payload;
  const uint32_t pcrc = masked_crc32c(payload.data(), payload.size());
  for (int i = 0; i < 4; ++i) rec.push_back(static_cast<char>((pcrc >> (8 * i)) & 0xff));
  fs::write_file_atomic(path, rec);
  try {
    read_event_file(path);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wisesr::tb
