// MP4 writing: checked with ffprobe (codec, pix_fmt, size, frames, fps, colour tags, metadata) and
// decoded back to compare with the input (PSNR at CRF 18 on a natural-looking clip).
#include "io/video.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "rayvid/error.h"
#include "support/test_env.h"

namespace rayvid::io {
namespace {
namespace fs = std::filesystem;

// Smooth gradients with a soft moving disc: compresses like natural footage.
VideoFrames synthetic_clip(int width, int height, int frames) {
  VideoFrames v{width, height, frames, {}};
  v.rgb.resize(v.frame_bytes() * frames);
  for (int f = 0; f < frames; ++f) {
    const double cx = width * (0.3 + 0.4 * f / frames), cy = height * 0.5;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        const double d = std::hypot(x - cx, y - cy) / (0.25 * height);
        const double disc = std::exp(-d * d);
        uint8_t* p = v.frame(f) + (static_cast<size_t>(y) * width + x) * 3;
        p[0] = static_cast<uint8_t>(40 + 150.0 * x / width + 60 * disc);
        p[1] = static_cast<uint8_t>(60 + 120.0 * y / height);
        p[2] = static_cast<uint8_t>(90 + 100 * disc);
      }
  }
  return v;
}

double psnr(const VideoFrames& a, const VideoFrames& b) {
  double mse = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) {
    const double d = double(a.rgb[i]) - double(b.rgb[i]);
    mse += d * d;
  }
  mse /= a.rgb.size();
  return 10 * std::log10(255.0 * 255.0 / std::max(mse, 1e-12));
}

TEST(Mp4Writer, FfprobeSeesWhatWeWrote) {
  const auto dir = test::scratch_dir("mp4_ffprobe");
  for (int fps : {16, 24}) {
    const fs::path path = dir / ("clip" + std::to_string(fps) + ".mp4");
    Mp4Options options;
    options.fps = fps;
    options.metadata["comment"] = R"({"prompt":"a red fox","seed":42})";
    write_mp4(path, synthetic_clip(96, 64, 17), options);

    const auto probe = test::run_command(
        "ffprobe -v error -count_frames -show_streams -show_format -of json '" + path.string() + "'");
    ASSERT_EQ(probe.exit_code, 0) << probe.output;
    const auto json = nlohmann::json::parse(probe.output);
    const auto& s = json["streams"][0];
    EXPECT_EQ(s["codec_name"], "h264");
    EXPECT_EQ(s["pix_fmt"], "yuv420p");
    EXPECT_EQ(s["width"], 96);
    EXPECT_EQ(s["height"], 64);
    EXPECT_EQ(s["nb_read_frames"], "17");
    EXPECT_EQ(s["avg_frame_rate"], std::to_string(fps) + "/1");
    EXPECT_EQ(s["color_primaries"], "bt709");
    EXPECT_EQ(s["color_transfer"], "bt709");
    EXPECT_EQ(s["color_space"], "bt709");
    EXPECT_EQ(s["color_range"], "tv");
    EXPECT_EQ(json["format"]["tags"]["comment"], R"({"prompt":"a red fox","seed":42})");
  }
  // Only the requested files remain: no temporary files beside them.
  int files = 0;
  for (const auto& item : fs::directory_iterator(dir)) files += item.is_regular_file();
  EXPECT_EQ(files, 2);
}

TEST(Mp4Writer, MoovAtomIsAtTheFront) {
  const auto dir = test::scratch_dir("mp4_faststart");
  write_mp4(dir / "a.mp4", synthetic_clip(32, 32, 5), Mp4Options{});
  const auto trace = test::run_command("ffprobe -v trace '" + (dir / "a.mp4").string() +
                                       "' 2>&1 | grep -m2 -o \"type:'\\(moov\\|mdat\\)'\"");
  EXPECT_EQ(trace.output, "type:'moov'\ntype:'mdat'\n");  // +faststart: moov before mdat
}

TEST(Mp4Writer, DecodesBackAbove35dB) {
  const auto dir = test::scratch_dir("mp4_roundtrip");
  const VideoFrames clip = synthetic_clip(128, 96, 24);
  Mp4Options options;
  options.crf = 18;
  options.fps = 24;
  options.metadata["comment"] = "{}";
  write_mp4(dir / "round.mp4", clip, options);
  const DecodedVideo decoded = read_video(dir / "round.mp4");
  ASSERT_EQ(decoded.frames.num_frames, 24);
  ASSERT_EQ(decoded.frames.width, 128);
  EXPECT_DOUBLE_EQ(decoded.fps, 24.0);
  EXPECT_EQ(decoded.codec, "h264");
  EXPECT_EQ(decoded.metadata.at("comment"), "{}");
  const double db = psnr(clip, decoded.frames);
  EXPECT_GE(db, 35.0) << "PSNR " << db << " dB";
}

TEST(Mp4Writer, RejectsOddSizesAndLeavesNothingBehind) {
  const auto dir = test::scratch_dir("mp4_odd");
  try {
    write_mp4(dir / "odd.mp4", synthetic_clip(33, 32, 3), Mp4Options{});
    FAIL() << "wrote an odd-sized H.264 file";
  } catch (const rayvid::Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("even"), std::string::npos);
  }
  Mp4Options bad_preset;
  bad_preset.preset = "warp-speed";
  EXPECT_THROW(write_mp4(dir / "bad.mp4", synthetic_clip(32, 32, 3), bad_preset), rayvid::Error);
  EXPECT_TRUE(fs::is_empty(dir)) << "a failed write left a file behind";
}

TEST(VideoReader, RejectsNonVideos) {
  const auto dir = test::scratch_dir("video_reader_bad");
  std::ofstream(dir / "fake.mp4") << "not a video";
  EXPECT_THROW(read_video(dir / "fake.mp4"), rayvid::Error);
  EXPECT_THROW(read_video(dir / "missing.mp4"), rayvid::Error);
}

}  // namespace
}  // namespace rayvid::io
