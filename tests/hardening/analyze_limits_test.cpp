// Hardening item 9: `rayvid analyze` had no limits and held every decoded frame: a 100 KB MP4 of
// two 8192x4320 frames took 2.6-3 GB and 18 s. The size and the length are now read from the
// container and refused before anything is decoded (at most 4096 a side, as generate; at most 3600
// frames), and the analysis streams frames (a few in memory whatever the length).
#include <chrono>

#include "hardening/hardening_support.h"
#include "io/video.h"
#include "rayvid/error.h"

namespace rayvid::hardening {
namespace {

// A clip of moving diagonal stripes (black when `flat`, which keeps a huge one cheap to encode).
void write_clip(const fs::path& path, int width, int height, int frames, bool flat = false) {
  io::VideoFrames video{width, height, frames,
                        std::vector<uint8_t>(static_cast<size_t>(width) * height * 3 * frames)};
  for (int f = 0; f < frames && !flat; ++f)
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        for (int c = 0; c < 3; ++c)
          video.frame(f)[(static_cast<size_t>(y) * width + x) * 3 + c] =
              static_cast<uint8_t>(((x + y + 2 * f) / 4 % 2) * 160 + 40 * c);
  io::Mp4Options options;
  options.preset = "ultrafast";
  options.crf = 40;
  io::write_mp4(path, video, options);
}

std::string analyze(const fs::path& video, const fs::path& out) {
  return cli() + " analyze " + quoted(video) + " --no-plots --out " + quoted(out);
}

template <typename F>
std::string bad_input_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return "";
}

TEST(AnalyzeLimits, HugeFramesAreRefusedBeforeDecoding) {
  const auto dir = test::scratch_dir("hardening_analyze_huge");
  write_clip(dir / "huge.mp4", 8192, 4320, 2, /*flat=*/true);
  ASSERT_LT(fs::file_size(dir / "huge.mp4"), 2'000'000u);  // a small file with huge frames

  const std::string reader = bad_input_message([&] { io::VideoReader r(dir / "huge.mp4"); });
  EXPECT_NE(reader.find("8192x4320"), std::string::npos) << reader;
  EXPECT_NE(reader.find("at most 4096"), std::string::npos) << reader;
  EXPECT_NE(reader.find("scale="), std::string::npos) << reader;  // the fix
  const std::string all = bad_input_message([&] { io::read_video(dir / "huge.mp4"); });
  EXPECT_NE(all.find("8192x4320"), std::string::npos) << all;

  const auto start = std::chrono::steady_clock::now();
  expect_clean_error(analyze(dir / "huge.mp4", dir / "out"), 3, "8192x4320");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 10.0) << "refusing took " << seconds << " s (the analysis took 18 s)";
  EXPECT_FALSE(fs::exists(dir / "out")) << "an empty output folder was left behind";
}

TEST(AnalyzeLimits, TooManyFramesAreRefusedBeforeDecoding) {
  const auto dir = test::scratch_dir("hardening_analyze_long");
  const io::VideoLimits limits;
  write_clip(dir / "long.mp4", 16, 16, static_cast<int>(limits.max_frames) + 1);
  expect_clean_error(analyze(dir / "long.mp4", dir / "out"), 3,
                     std::to_string(limits.max_frames + 1) + " frames");
  // The cap is the reader's: a lower one refuses a short clip the same way.
  write_clip(dir / "five.mp4", 16, 16, 5);
  const std::string message =
      bad_input_message([&] { io::VideoReader r(dir / "five.mp4", {.max_frames = 3}); });
  EXPECT_NE(message.find("5 frames"), std::string::npos) << message;
  EXPECT_NE(message.find("at most 3"), std::string::npos) << message;
}

TEST(AnalyzeLimits, NormalVideoStillAnalyzes) {
  const auto dir = test::scratch_dir("hardening_analyze_normal");
  write_clip(dir / "clip.mp4", 64, 48, 9);
  const auto r = test::run_command(analyze(dir / "clip.mp4", dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = read_json(dir / "out" / "analysis.json");
  EXPECT_EQ(j["per_frame"].size(), 9u) << j.dump();
  EXPECT_TRUE(fs::is_regular_file(dir / "out" / "contact_sheet.png"));
}

// libav printed its own line ("moov atom not found") before rayvid's; now it is part of rayvid's.
TEST(AnalyzeLimits, DamagedVideoIsOneLine) {
  const auto dir = test::scratch_dir("hardening_analyze_damaged");
  write_clip(dir / "clip.mp4", 64, 48, 9);
  std::ifstream in(dir / "clip.mp4", std::ios::binary);
  const std::string bytes(std::istreambuf_iterator<char>(in), {});
  write_text(dir / "cut.mp4", bytes.substr(0, bytes.size() / 2));  // +faststart: moov first
  write_text(dir / "text.mp4", "not a video");
  for (const char* name : {"cut.mp4", "text.mp4"})
    expect_clean_error(analyze(dir / name, dir / "out"), 3, (dir / name).string() + ": ");
}

}  // namespace
}  // namespace rayvid::hardening
