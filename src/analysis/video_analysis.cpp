// Runs every per-frame and per-pair metric over a video and condenses them into a summary.
#include "analysis/video_analysis.h"

#include <algorithm>
#include <cfenv>
#include <cmath>

#include "analysis/color.h"
#include "analysis/frame_metrics.h"
#include "analysis/motion.h"
#include "core/check.h"

namespace rayvid::analysis {
namespace {

double mean_of(const std::vector<FrameRow>& rows, std::optional<double> FrameRow::*field) {
  double sum = 0;
  int n = 0;
  for (const auto& row : rows)
    if (row.*field) {
      sum += *(row.*field);
      ++n;
    }
  return n > 0 ? sum / n : 0;
}

// Python's round(): nearest integer, ties to even (VBench computes count_num with it).
int round_half_even(double x) {
  const int saved = std::fegetround();
  std::fesetround(FE_TONEAREST);
  const double r = std::nearbyint(x);
  std::fesetround(saved);
  return static_cast<int>(r);
}

DynamicDegree dynamic_degree(const io::VideoFrames& video, double fps) {
  DynamicDegree d;
  d.frame_interval = std::max(1, round_half_even(fps / 8.0));
  std::vector<int> picked;
  for (int i = 0; i < video.num_frames; i += d.frame_interval) picked.push_back(i);
  d.sampled_frames = static_cast<int>(picked.size());
  const double factor = std::max(1.0, 8.0 / fps);
  d.threshold = factor * 6.0 * std::min(video.width, video.height) / 256.0;
  // VBench's count_num can round to 0 for very short clips, which makes every clip "dynamic";
  // at least one moving pair is required here.
  d.required_count = std::max(1, round_half_even(4.0 * d.sampled_frames / 16.0));
  for (size_t i = 1; i < picked.size(); ++i)
    if (flow_top5(view(video, picked[i - 1]), view(video, picked[i])) > d.threshold)
      ++d.moving_pairs;
  const int pairs = d.sampled_frames - 1;
  d.fraction = pairs > 0 ? static_cast<double>(d.moving_pairs) / pairs : 0;
  d.dynamic = pairs > 0 && d.moving_pairs >= d.required_count;
  return d;
}

}  // namespace

VideoAnalysis analyze_video(const io::VideoFrames& video, const io::Image* source,
                            const io::VideoFrames* compare, const AnalysisOptions& options) {
  RAYVID_CHECK(video.num_frames >= 1 && video.width >= 8 && video.height >= 8, BadInput,
               "the video has {} frames of {}x{}; analysis needs at least one frame of 8x8",
               video.num_frames, video.width, video.height);
  RAYVID_CHECK(options.fps > 0, BadArgument, "fps must be positive, got {}", options.fps);
  if (compare != nullptr)
    RAYVID_CHECK(compare->width == video.width && compare->height == video.height, BadInput,
                 "--compare video is {}x{} but the video is {}x{}; compare videos of the same size",
                 compare->width, compare->height, video.width, video.height);

  VideoAnalysis out;
  out.width = video.width;
  out.height = video.height;
  out.frames = video.num_frames;
  out.fps = options.fps;
  out.has_source = source != nullptr;
  out.has_compare = compare != nullptr;

  io::Image prepared;
  std::vector<Lab> source_lab;
  if (source != nullptr) {
    prepared = io::resize_cover_crop(*source, video.width, video.height);
    source_lab = to_lab(view(prepared));
  }

  int still = 0;
  for (int i = 0; i < video.num_frames; ++i) {
    FrameRow row;
    row.frame = i;
    const FrameView frame = view(video, i);
    if (source != nullptr) {
      row.source_psnr = psnr(frame, view(prepared));
      row.source_ssim = ssim(frame, view(prepared));
      row.source_delta_e = mean_delta_e_2000(source_lab, frame);
    }
    if (i > 0) {
      const PairMotion m = measure_motion(view(video, i - 1), frame);
      row.flow_mean = m.flow_mean;
      row.flow_top5 = m.flow_top5;
      row.warp_error = m.warp_error;
      row.warp_valid_fraction = m.valid_fraction;
      row.abs_diff = m.mean_abs_diff;
      if (m.mean_abs_diff < options.still_abs_diff && m.flow_mean < options.still_flow) ++still;
    }
    if (compare != nullptr && i < compare->num_frames) {
      row.compare_psnr = psnr(frame, view(*compare, i));
      row.compare_ssim = ssim(frame, view(*compare, i));
    }
    out.rows.push_back(row);
  }

  const auto& first = out.rows.front();
  const auto& last = out.rows.back();
  if (source != nullptr) {
    out.first_frame_psnr = first.source_psnr;
    out.first_frame_ssim = first.source_ssim;
    out.last_frame_psnr = last.source_psnr;
    out.last_frame_ssim = last.source_ssim;
    out.mean_source_psnr = mean_of(out.rows, &FrameRow::source_psnr);
    out.mean_source_ssim = mean_of(out.rows, &FrameRow::source_ssim);
    out.mean_delta_e = mean_of(out.rows, &FrameRow::source_delta_e);
    out.last_delta_e = last.source_delta_e;
  }
  if (compare != nullptr) {
    out.mean_compare_psnr = mean_of(out.rows, &FrameRow::compare_psnr);
    out.mean_compare_ssim = mean_of(out.rows, &FrameRow::compare_ssim);
  }
  out.mean_flow = mean_of(out.rows, &FrameRow::flow_mean);
  out.mean_warp_error = mean_of(out.rows, &FrameRow::warp_error);
  out.mean_abs_diff = mean_of(out.rows, &FrameRow::abs_diff);
  out.flicker_score = (255.0 - out.mean_abs_diff) / 255.0;
  out.dynamic = dynamic_degree(video, options.fps);
  const int pairs = video.num_frames - 1;
  out.still_fraction = pairs > 0 ? static_cast<double>(still) / pairs : 1.0;
  out.frozen = pairs > 0 && out.still_fraction >= options.frozen_fraction;
  return out;
}

VideoAnalysis analyze_files(const std::filesystem::path& video,
                            const std::optional<std::filesystem::path>& source,
                            const std::optional<std::filesystem::path>& compare) {
  const io::DecodedVideo decoded = io::read_video(video);
  std::optional<io::Image> image;
  if (source) image = io::read_image(*source);
  std::optional<io::DecodedVideo> other;
  if (compare) other = io::read_video(*compare);
  AnalysisOptions options;
  if (decoded.fps > 0) options.fps = decoded.fps;
  return analyze_video(decoded.frames, image ? &*image : nullptr, other ? &other->frames : nullptr,
                       options);
}

}  // namespace rayvid::analysis
