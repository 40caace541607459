// The streamed analysis (analyze_files: one decoded frame at a time through a VideoAnalyzer) gives
// exactly what analyze_video gives on the whole decoded video, at both of VBench's sampling paths
// (an interval of 1 at 8 fps, 2 at 16 fps), with a source and a compare video; and the streamed
// contact sheet is the in-memory one, or close to it when the container's frame count was wrong.
#include <gtest/gtest.h>

#include "analysis/contact_sheet.h"
#include "analysis/video_analysis.h"
#include "support/test_env.h"
#include "synthetic_video.h"

namespace rayvid::analysis {
namespace {
namespace fs = std::filesystem;

void expect_same(const std::optional<double>& a, const std::optional<double>& b, const char* what,
                 int frame) {
  EXPECT_EQ(a.has_value(), b.has_value()) << what << " frame " << frame;
  if (a && b) {
    EXPECT_EQ(*a, *b) << what << " frame " << frame;
  }
}

void expect_same(const VideoAnalysis& a, const VideoAnalysis& b) {
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  EXPECT_EQ(a.frames, b.frames);
  EXPECT_EQ(a.fps, b.fps);
  ASSERT_EQ(a.rows.size(), b.rows.size());
  for (size_t i = 0; i < a.rows.size(); ++i) {
    const FrameRow &x = a.rows[i], &y = b.rows[i];
    const int f = static_cast<int>(i);
    EXPECT_EQ(x.frame, y.frame);
    expect_same(x.source_psnr, y.source_psnr, "source_psnr", f);
    expect_same(x.source_ssim, y.source_ssim, "source_ssim", f);
    expect_same(x.source_delta_e, y.source_delta_e, "source_delta_e", f);
    expect_same(x.flow_mean, y.flow_mean, "flow_mean", f);
    expect_same(x.flow_top5, y.flow_top5, "flow_top5", f);
    expect_same(x.warp_error, y.warp_error, "warp_error", f);
    expect_same(x.warp_valid_fraction, y.warp_valid_fraction, "warp_valid_fraction", f);
    expect_same(x.abs_diff, y.abs_diff, "abs_diff", f);
    expect_same(x.compare_psnr, y.compare_psnr, "compare_psnr", f);
    expect_same(x.compare_ssim, y.compare_ssim, "compare_ssim", f);
  }
  expect_same(a.first_frame_psnr, b.first_frame_psnr, "first_frame_psnr", -1);
  expect_same(a.mean_source_ssim, b.mean_source_ssim, "mean_source_ssim", -1);
  expect_same(a.last_delta_e, b.last_delta_e, "last_delta_e", -1);
  expect_same(a.mean_compare_psnr, b.mean_compare_psnr, "mean_compare_psnr", -1);
  EXPECT_EQ(a.mean_flow, b.mean_flow);
  EXPECT_EQ(a.mean_warp_error, b.mean_warp_error);
  EXPECT_EQ(a.flicker_score, b.flicker_score);
  EXPECT_EQ(a.dynamic.frame_interval, b.dynamic.frame_interval);
  EXPECT_EQ(a.dynamic.sampled_frames, b.dynamic.sampled_frames);
  EXPECT_EQ(a.dynamic.threshold, b.dynamic.threshold);
  EXPECT_EQ(a.dynamic.required_count, b.dynamic.required_count);
  EXPECT_EQ(a.dynamic.moving_pairs, b.dynamic.moving_pairs);
  EXPECT_EQ(a.dynamic.fraction, b.dynamic.fraction);
  EXPECT_EQ(a.dynamic.dynamic, b.dynamic.dynamic);
  EXPECT_EQ(a.still_fraction, b.still_fraction);
  EXPECT_EQ(a.frozen, b.frozen);
}

TEST(StreamedAnalysis, EqualsTheInMemoryAnalysis) {
  const auto dir = rayvid::test::scratch_dir("analysis_streamed");
  constexpr int kW = 96, kH = 64, kFrames = 11;
  const io::Image canvas = test::texture(kW + 5 * kFrames, kH, 17, 0.1);
  const io::Image source = test::texture(kW + 20, kH + 10, 18, 0.1);  // resized and cropped
  io::write_png(dir / "source.png", source);
  io::write_mp4(dir / "compare.mp4", test::translate(canvas, kW, kH, kFrames - 3, 1), {});
  for (const int fps : {8, 16}) {  // VBench's interval: round(fps / 8) = 1, then 2
    io::Mp4Options options;
    options.fps = fps;
    const fs::path clip = dir / ("clip" + std::to_string(fps) + ".mp4");
    io::write_mp4(clip, test::translate(canvas, kW, kH, kFrames, 5), options);

    const io::DecodedVideo decoded = io::read_video(clip);
    const io::DecodedVideo other = io::read_video(dir / "compare.mp4");
    const io::Image image = io::read_image(dir / "source.png");
    AnalysisOptions analysis_options;
    analysis_options.fps = fps;
    const VideoAnalysis whole =
        analyze_video(decoded.frames, &image, &other.frames, analysis_options);
    io::Image sheet;
    const VideoAnalysis streamed =
        analyze_files(clip, dir / "source.png", dir / "compare.mp4", &sheet);
    EXPECT_EQ(whole.dynamic.frame_interval, fps / 8);
    expect_same(whole, streamed);
    const io::Image expected_sheet = contact_sheet(decoded.frames);
    EXPECT_EQ(sheet.width, expected_sheet.width);
    EXPECT_EQ(sheet.height, expected_sheet.height);
    EXPECT_TRUE(sheet.rgb == expected_sheet.rgb) << "fps " << fps;
  }
}

TEST(StreamedAnalysis, ContactSheetSurvivesAWrongFrameCount) {
  const io::Image canvas = test::texture(64 + 200, 48, 4);
  const io::VideoFrames video = test::translate(canvas, 64, 48, 41, 4);
  const ContactSheetOptions options{.columns = 3, .rows = 2, .tile_width = 32, .gap = 2};
  const io::Image exact = contact_sheet(video, options);
  for (const int64_t expected : {int64_t{0}, int64_t{7}, int64_t{41}, int64_t{500}}) {
    ContactSheetBuilder builder(64, 48, expected, options);
    for (int i = 0; i < video.num_frames; ++i) builder.add(i, view(video, i));
    const io::Image sheet = builder.finish(video.num_frames, view(video, video.num_frames - 1));
    ASSERT_EQ(sheet.width, exact.width) << expected;
    ASSERT_EQ(sheet.height, exact.height) << expected;
    if (expected == video.num_frames) {
      EXPECT_TRUE(sheet.rgb == exact.rgb);
    }
    // First and last tiles are always the first and last frames.
    for (const auto& [y, x] : {std::pair{2 + 5, 2 + 5}, std::pair{2 + 24 + 2 + 5, 2 + 2 * 34 + 5}})
      for (int c = 0; c < 3; ++c) EXPECT_EQ(sheet.at(y, x, c), exact.at(y, x, c)) << expected;
  }
}

}  // namespace
}  // namespace rayvid::analysis
