// Keyframe adherence (rayvid analyze --keyframe / --last-image): the frame that was asked for
// scores high against its image, any other frame low, the last frame is found without knowing the
// length, and an index past the end is refused with the video's length.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "analysis/keyframe_fidelity.h"
#include "io/video.h"
#include "rayvid/error.h"
#include "support/test_env.h"
#include "synthetic_video.h"

namespace rayvid::analysis {
namespace {
namespace fs = std::filesystem;

// Frame i: a smooth texture moving 6 px a frame (x264 keeps it well; neighbours differ).
io::VideoFrames patterned(int width, int height, int frames) {
  return test::translate(test::texture(width + 6 * frames, height, 5), width, height, frames, 6);
}

io::Image frame_image(const io::VideoFrames& v, int i) {
  return {v.width, v.height, std::vector<uint8_t>(v.frame(i), v.frame(i) + v.frame_bytes())};
}

TEST(KeyframeFidelity, TheRequestedFrameScoresHighOthersLow) {
  const fs::path dir = rayvid::test::scratch_dir("keyframe_fidelity");
  const io::VideoFrames video = patterned(96, 64, 9);
  io::write_mp4(dir / "clip.mp4", video, {});
  const auto scores = keyframe_fidelity(dir / "clip.mp4", {{0, frame_image(video, 0)},
                                                           {4, frame_image(video, 4)},
                                                           {kLastFrame, frame_image(video, 8)}});
  ASSERT_EQ(scores.size(), 3u);
  EXPECT_EQ(scores[0].frame, 0);
  EXPECT_EQ(scores[1].frame, 4);
  EXPECT_EQ(scores[2].frame, 8);  // kLastFrame resolved
  for (const auto& s : scores) {
    EXPECT_GT(s.psnr, 30) << s.frame;  // x264 at crf 18 on a synthetic pattern
    EXPECT_GT(s.ssim, 0.9) << s.frame;
  }
  const auto wrong = keyframe_fidelity(dir / "clip.mp4", {{4, frame_image(video, 5)}});
  EXPECT_LT(wrong[0].psnr, scores[1].psnr - 10);
  EXPECT_LT(wrong[0].ssim, scores[1].ssim);
  try {
    keyframe_fidelity(dir / "clip.mp4", {{9, frame_image(video, 0)}});
    FAIL() << "frame 9 of a 9-frame video was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("9 frames, 0..8"), std::string::npos) << e.what();
  }
}

TEST(KeyframeFidelity, AnalyzeCliReportsKeyframesInJson) {
  const fs::path dir = rayvid::test::scratch_dir("keyframe_fidelity_cli");
  const io::VideoFrames video = patterned(96, 64, 9);
  io::write_mp4(dir / "clip.mp4", video, {});
  io::write_png(dir / "k4.png", frame_image(video, 4));
  io::write_png(dir / "last.png", frame_image(video, 8));
  const auto r = rayvid::test::run_command(
      rayvid::test::cli_command() + " analyze '" + (dir / "clip.mp4").string() +
      "' --no-plots --keyframe 4:'" + (dir / "k4.png").string() + "' --last-image '" +
      (dir / "last.png").string() + "' --out '" + (dir / "out").string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("keyframe 4: PSNR"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("keyframe 8: PSNR"), std::string::npos) << r.output;
  std::ifstream in(dir / "out" / "analysis.json");
  const auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j["keyframes"].size(), 2u);
  EXPECT_EQ(j["keyframes"][1]["frame"], 8);
  EXPECT_GT(j["keyframes"][1]["psnr"].get<double>(), 30);
  const auto bad =
      rayvid::test::run_command(rayvid::test::cli_command() + " analyze '" +
                                (dir / "clip.mp4").string() + "' --keyframe x:k.png 2>&1");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("FRAME:IMAGE"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace rayvid::analysis
