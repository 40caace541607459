// Source preservation through a real MP4 round trip, the JSON/CSV report and the contact sheet.
#include <gtest/gtest.h>

#include <algorithm>

#include <fstream>

#include "analysis/contact_sheet.h"
#include "analysis/frame_metrics.h"
#include "analysis/report.h"
#include "analysis/video_analysis.h"
#include "engine/analysis_summary.h"
#include "support/test_env.h"
#include "support/test_mp4.h"
#include "synthetic_video.h"

namespace rayvid::analysis {
namespace {
namespace fs = std::filesystem;

TEST(Preservation, FirstFrameOfAnMp4MatchesItsSourceAbove40dB) {
  const auto dir = rayvid::test::scratch_dir("analysis_mp4");
  constexpr int kW = 192, kH = 128, kFrames = 9;
  // Low spatial frequencies: yuv420p halves the chroma resolution, which a busy texture would
  // lose well below 40 dB whatever the CRF.
  const io::Image canvas = test::texture(kW + 2 * kFrames, kH, 21, 0.03);
  const io::VideoFrames video = test::translate(canvas, kW, kH, kFrames, 2);
  io::Image source{kW, kH,
                   std::vector<uint8_t>(video.frame(0), video.frame(0) + video.frame_bytes())};
  io::write_png(dir / "source.png", source);
  io::write_mp4(dir / "clip.mp4", video, rayvid::test::test_mp4_options());

  const VideoAnalysis a = analyze_files(dir / "clip.mp4", dir / "source.png", std::nullopt);
  ASSERT_EQ(a.frames, kFrames);
  EXPECT_DOUBLE_EQ(a.fps, 16.0);
  EXPECT_GT(*a.first_frame_psnr, 40.0);
  EXPECT_GT(*a.first_frame_ssim, 0.97);
  EXPECT_LT(*a.rows[0].source_delta_e, 2.0);  // barely perceptible (CIEDE2000 < 2)
  // The content moves away from the source, so later frames drift: the curve must show it.
  EXPECT_LT(*a.last_frame_psnr, *a.first_frame_psnr - 5.0);
  EXPECT_NEAR(a.mean_flow, 2.0, 0.3);

  // The engine hook returns the same summary.
  const nlohmann::json summary = engine::analysis_summary(dir / "clip.mp4", dir / "source.png");
  EXPECT_DOUBLE_EQ(summary["source"]["first_frame_psnr_db"].get<double>(), *a.first_frame_psnr);
  EXPECT_FALSE(summary["motion"]["frozen"].get<bool>());
}

TEST(Report, JsonAndCsvCarryEveryFrame) {
  const io::Image source = test::texture(64, 48, 4);
  const io::VideoFrames video = test::repeat(source, 3);
  const VideoAnalysis a = analyze_video(video, &source, nullptr, AnalysisOptions{});
  const nlohmann::json j = to_json(a);
  ASSERT_EQ(j["per_frame"].size(), 3u);
  EXPECT_TRUE(j["per_frame"][0]["flow_mean"].is_null());  // no pair before frame 0
  EXPECT_TRUE(j["per_frame"][1]["flow_mean"].is_number());
  EXPECT_TRUE(j["per_frame"][0]["compare_psnr"].is_null());
  EXPECT_FALSE(j.contains("compare"));
  const std::string csv = to_csv(a);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
  EXPECT_EQ(csv.rfind("frame,source_psnr,source_ssim,source_delta_e,flow_mean", 0), 0u);
  EXPECT_NE(csv.find("\n0,100,1,0,,"), std::string::npos) << csv;
}

TEST(ContactSheet, GridHasTheRequestedLayout) {
  const io::Image canvas = test::texture(64 + 40, 48, 4);
  const io::VideoFrames video = test::translate(canvas, 64, 48, 11, 4);
  const io::Image sheet =
      contact_sheet(video, {.columns = 3, .rows = 2, .tile_width = 32, .gap = 2});
  EXPECT_EQ(sheet.width, 3 * 32 + 4 * 2);
  EXPECT_EQ(sheet.height, 2 * 24 + 3 * 2);
  // The top-left tile is frame 0 scaled 2:1; the last tile is frame 10.
  EXPECT_NEAR(sheet.at(2 + 5, 2 + 5, 0), canvas.at(11, 11, 0), 12);
  EXPECT_EQ(sheet.at(0, 0, 0), 32);  // the gap colour
}

}  // namespace
}  // namespace rayvid::analysis

namespace rayvid::analysis {
namespace {

TEST(Preservation, StaticMp4IsFrozenAndStatic) {
  const auto dir = rayvid::test::scratch_dir("analysis_static_mp4");
  const io::Image source = test::texture(128, 96, 31, 0.03);
  io::Mp4Options options;
  options.fps = 16;
  options.crf = 18;
  io::write_mp4(dir / "static.mp4", test::repeat(source, 17), options);
  io::write_png(dir / "source.png", source);
  const VideoAnalysis a = analyze_files(dir / "static.mp4", dir / "source.png", std::nullopt);
  EXPECT_TRUE(a.frozen);
  EXPECT_FALSE(a.dynamic.dynamic);
  EXPECT_EQ(a.dynamic.moving_pairs, 0);
  EXPECT_GT(*a.mean_source_ssim, 0.97);
  // No drift: the last frame is as close to the source as the first (within coding noise).
  EXPECT_NEAR(*a.last_frame_psnr, *a.first_frame_psnr, 1.0);
  EXPECT_NEAR(*a.last_delta_e, *a.rows[0].source_delta_e, 0.5);
}

TEST(AnalyzeCli, WritesJsonCsvContactSheetAndPlots) {
  const auto dir = rayvid::test::scratch_dir("analysis_cli");
  const io::Image canvas = test::texture(128 + 40, 96, 8, 0.2);
  io::Mp4Options options;
  options.fps = 16;
  io::write_mp4(dir / "clip.mp4", test::translate(canvas, 128, 96, 9, 3), options);
  const auto run =
      rayvid::test::run_command(std::string(RAYVID_TEST_CLI) + " analyze " +
                                (dir / "clip.mp4").string() + " --out " + (dir / "out").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("dynamic degree"), std::string::npos) << run.output;
  for (const char* file : {"analysis.json", "per_frame.csv", "contact_sheet.png", "motion.png"})
    EXPECT_TRUE(fs::is_regular_file(dir / "out" / file)) << file << "\n" << run.output;
  EXPECT_FALSE(fs::exists(dir / "out" / "preservation.png"));  // no --source, no source plot
  const auto missing = rayvid::test::run_command(std::string(RAYVID_TEST_CLI) + " analyze " +
                                                 (dir / "nope.mp4").string());
  EXPECT_EQ(missing.exit_code, 3) << missing.output;  // bad input
  EXPECT_NE(missing.output.find("cannot read the video: not found"), std::string::npos)
      << missing.output;
}

}  // namespace
}  // namespace rayvid::analysis
