// `rayvid analyze VIDEO [--source IMAGE] [--compare VIDEO2] [--track COLOUR] [--out DIR]
// [--no-plots]`: motion and preservation metrics as JSON, CSV, plots and a contact sheet.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "analysis/contact_sheet.h"
#include "analysis/keyframe_fidelity.h"
#include "analysis/object_track.h"
#include "analysis/report.h"
#include "analysis/video_analysis.h"
#include "apps/commands.h"
#include "apps/keyframe_flag.h"
#include "apps/plot_runner.h"
#include "core/check.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "io/regular_file.h"
#include "io/video.h"

namespace rayvid::apps {
namespace fs = std::filesystem;
namespace {

struct AnalyzeFlags {
  std::string video, source, compare, out, last_image;
  std::vector<std::string> keyframes;  // "N:IMAGE"
  std::vector<std::string> track;      // colour names or #RRGGBB
  bool no_plots = false;
};

// --keyframe N:IMAGE and --last-image IMAGE as the frames to compare.
std::map<int, io::Image> keyframe_images(const AnalyzeFlags& f) {
  std::map<int, io::Image> keyframes;
  for (const auto& k : f.keyframes) {
    const auto [index, path] = parse_keyframe_flag(k);
    keyframes[index] = io::read_image(path);
  }
  if (!f.last_image.empty()) keyframes[analysis::kLastFrame] = io::read_image(f.last_image);
  return keyframes;
}

void print_summary(const analysis::VideoAnalysis& a) {
  std::printf("video: %dx%d, %d frames at %.3g fps\n", a.width, a.height, a.frames, a.fps);
  if (a.has_source)
    std::printf(
        "source: first frame PSNR %.2f dB, SSIM %.4f; last frame PSNR %.2f dB, SSIM %.4f; "
        "colour drift (CIEDE2000) mean %.2f, last %.2f\n",
        *a.first_frame_psnr, *a.first_frame_ssim, *a.last_frame_psnr, *a.last_frame_ssim,
        *a.mean_delta_e, *a.last_delta_e);
  std::printf("motion: mean flow %.3f px/frame, warping error %.3g, flicker score %.4f\n",
              a.mean_flow, a.mean_warp_error, a.flicker_score);
  std::printf("dynamic degree: %s (%d of %d sampled pairs over %.2f px; %d needed)\n",
              a.dynamic.dynamic ? "dynamic" : "static", a.dynamic.moving_pairs,
              std::max(0, a.dynamic.sampled_frames - 1), a.dynamic.threshold,
              a.dynamic.required_count);
  std::printf("frozen: %s (%.0f%% of consecutive pairs still)\n", a.frozen ? "YES" : "no",
              a.still_fraction * 100);
  if (a.has_compare)
    std::printf("compare: mean PSNR %.2f dB, SSIM %.4f\n", *a.mean_compare_psnr,
                *a.mean_compare_ssim);
}

nlohmann::json to_json(const analysis::ObjectTrack& t) {
  nlohmann::json frames = nlohmann::json::array();
  for (const auto& f : t.frames)
    frames.push_back(f.found ? nlohmann::json{{"x", f.x}, {"y", f.y}, {"area", f.area_fraction}}
                             : nlohmann::json(nullptr));
  return {{"colour", t.colour.name},
          {"hue_deg", t.colour.hue_deg},
          {"found_frames", t.found_frames},
          {"found_first", t.found_first},
          {"found_last", t.found_last},
          {"dx", t.dx},
          {"dy", t.dy},
          {"direction", t.direction},
          {"frames", frames}};
}

void print_track(const analysis::ObjectTrack& t) {
  std::printf("object %s: found in %d of %zu frames, %s", t.colour.name.c_str(), t.found_frames,
              t.frames.size(), t.direction == "not found" ? "" : "moves ");
  if (t.direction == "not found" || t.direction == "stays")
    std::printf("%s\n", t.direction.c_str());
  else
    std::printf("%s (dx %+.1f px, dy %+.1f px)\n", t.direction.c_str(), t.dx, t.dy);
}

void run(const AnalyzeFlags& f) {
  io::require_regular_file(f.video, "video");
  std::vector<analysis::ColourTarget> colours;  // parsed first: a bad colour fails before work
  for (const auto& c : f.track) colours.push_back(analysis::parse_colour(c));
  const fs::path out =
      f.out.empty() ? fs::path(fs::path(f.video).replace_extension("").string() + "-analysis")
                    : fs::path(f.out);
  std::error_code ec;
  const bool out_existed = fs::exists(out, ec);
  fs::create_directories(out, ec);
  RAYVID_CHECK(!ec, BadArgument, "--out {}: cannot create the folder ({})", out.string(),
               ec.message());

  // Streamed: a few frames in memory whatever the length; the size and length caps
  // (io::VideoLimits) are checked on the containers before anything is decoded. A refused input
  // leaves no empty output folder behind (the folder is made first, so that an unusable --out
  // fails before a long analysis).
  io::Image sheet;
  std::optional<analysis::VideoAnalysis> analyzed;
  try {
    analyzed = analysis::analyze_files(
        f.video, f.source.empty() ? std::nullopt : std::optional<fs::path>(f.source),
        f.compare.empty() ? std::nullopt : std::optional<fs::path>(f.compare), &sheet);
  } catch (...) {
    if (!out_existed) fs::remove(out, ec);  // only removes it while it is empty
    throw;
  }
  const analysis::VideoAnalysis& a = *analyzed;
  const auto keyframes = keyframe_images(f);
  const auto scores = keyframes.empty() ? std::vector<analysis::KeyframeScore>{}
                                        : analysis::keyframe_fidelity(f.video, keyframes);

  const auto tracks = colours.empty() ? std::vector<analysis::ObjectTrack>{}
                                      : analysis::track_colours(f.video, colours);

  nlohmann::json j = analysis::to_json(a);
  if (!tracks.empty()) {
    j["objects"] = nlohmann::json::array();
    for (const auto& t : tracks) j["objects"].push_back(to_json(t));
  }
  if (!scores.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& s : scores)
      rows.push_back({{"frame", s.frame}, {"psnr", s.psnr}, {"ssim", s.ssim}});
    j["keyframes"] = rows;
  }
  j["inputs"] = {
      {"video", f.video},
      {"source", f.source.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.source)},
      {"compare", f.compare.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.compare)},
      {"track", f.track}};
  io::write_file_atomic(out / "analysis.json", j.dump(2) + "\n");
  io::write_file_atomic(out / "per_frame.csv", analysis::to_csv(a));
  io::write_png(out / "contact_sheet.png", sheet);
  print_summary(a);
  for (const auto& s : scores)
    std::printf("keyframe %d: PSNR %.2f dB, SSIM %.4f\n", s.frame, s.psnr, s.ssim);
  for (const auto& t : tracks) print_track(t);
  if (!f.no_plots)
    run_plot_script("plot_analysis.py", {(out / "per_frame.csv").string(), out.string()});
  std::printf("wrote %s\n", out.c_str());
}

}  // namespace

void add_analyze(CLI::App& app) {
  auto* sub =
      app.add_subcommand("analyze", "Measure motion and source-image preservation of a video");
  auto flags = std::make_shared<AnalyzeFlags>();
  sub->add_option("video", flags->video, "The video to analyse (MP4)")->required();
  sub->add_option("--source,-s", flags->source,
                  "Source image (resized to cover the video and centre-cropped): first-frame "
                  "PSNR/SSIM, drift over time, colour drift");
  sub->add_option("--compare,-c", flags->compare,
                  "A second video of the same size: PSNR/SSIM per frame");
  sub->add_option("--keyframe,-k", flags->keyframes,
                  "FRAME:IMAGE (repeatable): keyframe adherence, PSNR/SSIM of the image against "
                  "that frame (FLF2V, VACE keyframes)");
  sub->add_option("--last-image", flags->last_image,
                  "The image the video should end on: PSNR/SSIM against the last frame");
  sub->add_option("--track,-t", flags->track,
                  "COLOUR (repeatable; red, orange, yellow, green, cyan, blue, purple, magenta or "
                  "#RRGGBB): find the largest object of that colour in each frame and the "
                  "direction it moves");
  sub->add_option("--out,-o", flags->out, "Output folder (default: <video>-analysis/)");
  sub->add_flag("--no-plots", flags->no_plots, "Skip the matplotlib plots");
  sub->callback([flags]() { run(*flags); });
}

}  // namespace rayvid::apps
