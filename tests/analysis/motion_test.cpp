// Flow, warping error, dynamic degree, flicker and the frozen flag on synthetic clips whose motion
// is known exactly.
#include <gtest/gtest.h>

#include "analysis/motion.h"
#include "analysis/video_analysis.h"
#include "rayvid/error.h"
#include "synthetic_video.h"

namespace rayvid::analysis {
namespace {

constexpr int kW = 160, kH = 128;

TEST(Motion, TranslationByKPixelsGivesFlowK) {
  const io::Image canvas = test::texture(kW + 40, kH, 7, 0.35);
  for (int k : {1, 3}) {
    const io::VideoFrames video = test::translate(canvas, kW, kH, 2, k);
    const PairMotion m = measure_motion(view(video, 0), view(video, 1));
    // DIS on a smooth texture: sub-pixel accurate away from the entering strip (k columns of
    // 160), which the mean includes; 0.2 px covers both.
    EXPECT_NEAR(m.flow_mean, k, 0.2) << "k = " << k;
    EXPECT_NEAR(m.flow_top5, k, 0.5) << "k = " << k;
    // Warping frame 1 back onto frame 0 along the flow reproduces it: the error is at the level
    // of bilinear resampling of a smooth image (RMS below ~2 of 255 levels).
    EXPECT_LT(m.warp_error, 6e-5) << "k = " << k;
    EXPECT_GT(m.valid_fraction, 0.85) << "k = " << k;
  }
}

TEST(Motion, ShuffledContentHasLargeWarpingError) {
  // Two unrelated textures: the warping error must be far above the translation case, or the
  // test above could not fail.
  const io::Image a = test::texture(kW, kH, 1), b = test::texture(kW, kH, 2);
  const PairMotion m = measure_motion(view(a), view(b));
  EXPECT_GT(m.warp_error, 1e-3);
}

TEST(VideoAnalysis, StaticVideoIsFrozenNotDynamicAndMatchesItsSource) {
  const io::Image source = test::texture(kW, kH, 3);
  const io::VideoFrames video = test::repeat(source, 9);
  const VideoAnalysis a = analyze_video(video, &source, nullptr, AnalysisOptions{});
  EXPECT_DOUBLE_EQ(*a.first_frame_ssim, 1.0);
  EXPECT_DOUBLE_EQ(*a.mean_source_ssim, 1.0);
  EXPECT_DOUBLE_EQ(*a.first_frame_psnr, 100.0);  // identical frames report the cap
  EXPECT_DOUBLE_EQ(*a.mean_delta_e, 0.0);
  EXPECT_DOUBLE_EQ(*a.last_delta_e, 0.0);
  EXPECT_EQ(a.dynamic.moving_pairs, 0);
  EXPECT_DOUBLE_EQ(a.dynamic.fraction, 0.0);
  EXPECT_FALSE(a.dynamic.dynamic);
  EXPECT_NEAR(a.mean_flow, 0.0, 1e-3);
  EXPECT_DOUBLE_EQ(a.flicker_score, 1.0);
  EXPECT_TRUE(a.frozen);
  EXPECT_DOUBLE_EQ(a.still_fraction, 1.0);
}

TEST(VideoAnalysis, MovingVideoIsDynamicAndNotFrozen) {
  // 8 px per frame at 16 fps: VBench samples every 2nd frame, so sampled pairs move 16 px, far
  // over the threshold 6 * 128 / 256 = 3 px.
  const int frames = 17, k = 8;
  const io::Image canvas = test::texture(kW + k * frames, kH, 11);
  const io::VideoFrames video = test::translate(canvas, kW, kH, frames, k);
  AnalysisOptions options;
  options.fps = 16;
  const VideoAnalysis a = analyze_video(video, nullptr, nullptr, options);
  EXPECT_EQ(a.dynamic.frame_interval, 2);
  EXPECT_EQ(a.dynamic.sampled_frames, 9);
  EXPECT_DOUBLE_EQ(a.dynamic.threshold, 3.0);
  EXPECT_EQ(a.dynamic.required_count, 2);  // round(4 * 9 / 16) = round(2.25) = 2
  EXPECT_EQ(a.dynamic.moving_pairs, 8);
  EXPECT_TRUE(a.dynamic.dynamic);
  EXPECT_FALSE(a.frozen);
  EXPECT_NEAR(a.mean_flow, k, 0.5);
  EXPECT_LT(a.flicker_score, 1.0);
  EXPECT_FALSE(a.has_source);
  EXPECT_FALSE(a.first_frame_psnr.has_value());
}

TEST(VideoAnalysis, VideoThatStopsMovingIsFlaggedFrozen) {
  // One moving pair, then 19 identical frames: 19 of 20 pairs are still (>= 90%).
  const io::Image canvas = test::texture(kW + 8, kH, 5);
  io::VideoFrames video = test::translate(canvas, kW, kH, 2, 4);
  for (int f = 0; f < 19; ++f)
    video.rgb.insert(video.rgb.end(), video.frame(1), video.frame(1) + video.frame_bytes());
  video.num_frames = 21;
  const VideoAnalysis a = analyze_video(video, nullptr, nullptr, AnalysisOptions{});
  EXPECT_NEAR(a.still_fraction, 19.0 / 20.0, 1e-12);
  EXPECT_TRUE(a.frozen);
  EXPECT_GT(a.rows[1].abs_diff.value(), 1.0);  // the first pair does move
}

TEST(VideoAnalysis, CompareWithItselfIsPerfectAndSizeMismatchIsAnError) {
  const io::Image canvas = test::texture(kW + 20, kH, 9);
  const io::VideoFrames video = test::translate(canvas, kW, kH, 5, 2);
  const VideoAnalysis a = analyze_video(video, nullptr, &video, AnalysisOptions{});
  EXPECT_DOUBLE_EQ(*a.mean_compare_ssim, 1.0);
  EXPECT_DOUBLE_EQ(*a.mean_compare_psnr, 100.0);
  const io::VideoFrames small = test::translate(canvas, kW - 16, kH, 5, 2);
  try {
    analyze_video(video, nullptr, &small, AnalysisOptions{});
    FAIL() << "expected a size mismatch error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
    EXPECT_NE(std::string(e.what()).find("same size"), std::string::npos) << e.what();
  }
}

TEST(VideoAnalysis, FlickerScoreFollowsVBenchsFormula) {
  // Frames alternate between two flat greys 10 levels apart: every consecutive pair differs by
  // exactly 10 levels, so VBench's score is (255 - 10) / 255.
  io::VideoFrames video{64, 48, 6, {}};
  for (int f = 0; f < 6; ++f)
    video.rgb.insert(video.rgb.end(), video.frame_bytes(), static_cast<uint8_t>(f % 2 ? 130 : 120));
  const VideoAnalysis a = analyze_video(video, nullptr, nullptr, AnalysisOptions{});
  EXPECT_DOUBLE_EQ(a.mean_abs_diff, 10.0);
  EXPECT_DOUBLE_EQ(a.flicker_score, 245.0 / 255.0);
  EXPECT_FALSE(a.frozen);
}

}  // namespace
}  // namespace rayvid::analysis
