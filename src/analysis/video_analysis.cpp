// Runs every per-frame and per-pair metric over a video and condenses them into a summary.
#include "analysis/video_analysis.h"

#include <algorithm>
#include <cfenv>
#include <cmath>

#include "analysis/color.h"
#include "analysis/contact_sheet.h"
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

}  // namespace

VideoAnalyzer::VideoAnalyzer(int width, int height, const io::Image* source, bool has_compare,
                             const AnalysisOptions& options)
    : options_(options) {
  RAYVID_CHECK(width >= 8 && height >= 8, BadInput,
               "the video is {}x{}; analysis needs frames of at least 8x8", width, height);
  RAYVID_CHECK(options.fps > 0, BadArgument, "fps must be positive, got {}", options.fps);
  out_.width = width;
  out_.height = height;
  out_.fps = options.fps;
  out_.has_source = source != nullptr;
  out_.has_compare = has_compare;
  if (source != nullptr) {
    prepared_ = io::resize_cover_crop(*source, width, height);
    source_lab_ = to_lab(view(prepared_));
  }
  // VBench's dynamic degree: every round(fps / 8)-th frame, threshold scaled with the short side.
  DynamicDegree& d = out_.dynamic;
  d.frame_interval = std::max(1, round_half_even(options.fps / 8.0));
  const double factor = std::max(1.0, 8.0 / options.fps);
  d.threshold = factor * 6.0 * std::min(width, height) / 256.0;
}

void VideoAnalyzer::add(FrameView frame, const FrameView* compare) {
  RAYVID_CHECK(frame.width == out_.width && frame.height == out_.height, BadInput,
               "frame {} is {}x{} but the video is {}x{}", out_.rows.size(), frame.width,
               frame.height, out_.width, out_.height);
  const int i = static_cast<int>(out_.rows.size());
  const size_t bytes = static_cast<size_t>(frame.width) * frame.height * 3;
  const FrameView previous{out_.width, out_.height, previous_.data()};
  FrameRow row;
  row.frame = i;
  if (out_.has_source) {
    row.source_psnr = psnr(frame, view(prepared_));
    row.source_ssim = ssim(frame, view(prepared_));
    row.source_delta_e = mean_delta_e_2000(source_lab_, frame);
  }
  if (i > 0) {
    const PairMotion m = measure_motion(previous, frame);
    row.flow_mean = m.flow_mean;
    row.flow_top5 = m.flow_top5;
    row.warp_error = m.warp_error;
    row.warp_valid_fraction = m.valid_fraction;
    row.abs_diff = m.mean_abs_diff;
    if (m.mean_abs_diff < options_.still_abs_diff && m.flow_mean < options_.still_flow) ++still_;
  }
  if (compare != nullptr) {
    RAYVID_CHECK(compare->width == out_.width && compare->height == out_.height, BadInput,
                 "--compare video is {}x{} but the video is {}x{}; compare videos of the same size",
                 compare->width, compare->height, out_.width, out_.height);
    row.compare_psnr = psnr(frame, *compare);
    row.compare_ssim = ssim(frame, *compare);
  }
  DynamicDegree& d = out_.dynamic;
  if (i % d.frame_interval == 0) {
    if (i > 0) {
      // With an interval of 1 the sampled pair is the consecutive pair, whose forward flow
      // measure_motion has just computed the same way (flow_top5 runs the same DIS on the same
      // luma): its statistic is reused rather than computed twice.
      const double top5 = d.frame_interval == 1
                              ? *row.flow_top5
                              : flow_top5({out_.width, out_.height, last_sampled_.data()}, frame);
      if (top5 > d.threshold) ++d.moving_pairs;
    }
    ++d.sampled_frames;
    if (d.frame_interval > 1) last_sampled_.assign(frame.rgb, frame.rgb + bytes);
  }
  previous_.assign(frame.rgb, frame.rgb + bytes);
  out_.rows.push_back(row);
}

VideoAnalysis VideoAnalyzer::finish() {
  VideoAnalysis out = std::move(out_);
  RAYVID_CHECK(!out.rows.empty(), BadInput,
               "the video has 0 frames of {}x{}; analysis needs at least one frame of 8x8",
               out.width, out.height);
  out.frames = static_cast<int>(out.rows.size());
  const auto& first = out.rows.front();
  const auto& last = out.rows.back();
  if (out.has_source) {
    out.first_frame_psnr = first.source_psnr;
    out.first_frame_ssim = first.source_ssim;
    out.last_frame_psnr = last.source_psnr;
    out.last_frame_ssim = last.source_ssim;
    out.mean_source_psnr = mean_of(out.rows, &FrameRow::source_psnr);
    out.mean_source_ssim = mean_of(out.rows, &FrameRow::source_ssim);
    out.mean_delta_e = mean_of(out.rows, &FrameRow::source_delta_e);
    out.last_delta_e = last.source_delta_e;
  }
  if (out.has_compare) {
    out.mean_compare_psnr = mean_of(out.rows, &FrameRow::compare_psnr);
    out.mean_compare_ssim = mean_of(out.rows, &FrameRow::compare_ssim);
  }
  out.mean_flow = mean_of(out.rows, &FrameRow::flow_mean);
  out.mean_warp_error = mean_of(out.rows, &FrameRow::warp_error);
  out.mean_abs_diff = mean_of(out.rows, &FrameRow::abs_diff);
  out.flicker_score = (255.0 - out.mean_abs_diff) / 255.0;
  DynamicDegree& d = out.dynamic;
  // VBench's count_num can round to 0 for very short clips, which makes every clip "dynamic";
  // at least one moving pair is required here.
  d.required_count = std::max(1, round_half_even(4.0 * d.sampled_frames / 16.0));
  const int sampled_pairs = d.sampled_frames - 1;
  d.fraction = sampled_pairs > 0 ? static_cast<double>(d.moving_pairs) / sampled_pairs : 0;
  d.dynamic = sampled_pairs > 0 && d.moving_pairs >= d.required_count;
  const int pairs = out.frames - 1;
  out.still_fraction = pairs > 0 ? static_cast<double>(still_) / pairs : 1.0;
  out.frozen = pairs > 0 && out.still_fraction >= options_.frozen_fraction;
  return out;
}

VideoAnalysis analyze_video(const io::VideoFrames& video, const io::Image* source,
                            const io::VideoFrames* compare, const AnalysisOptions& options) {
  RAYVID_CHECK(video.num_frames >= 1 && video.width >= 8 && video.height >= 8, BadInput,
               "the video has {} frames of {}x{}; analysis needs at least one frame of 8x8",
               video.num_frames, video.width, video.height);
  if (compare != nullptr)
    RAYVID_CHECK(compare->width == video.width && compare->height == video.height, BadInput,
                 "--compare video is {}x{} but the video is {}x{}; compare videos of the same size",
                 compare->width, compare->height, video.width, video.height);
  VideoAnalyzer analyzer(video.width, video.height, source, compare != nullptr, options);
  for (int i = 0; i < video.num_frames; ++i) {
    const FrameView other =
        compare != nullptr && i < compare->num_frames ? view(*compare, i) : FrameView{};
    analyzer.add(view(video, i), other.rgb != nullptr ? &other : nullptr);
  }
  return analyzer.finish();
}

VideoAnalysis analyze_files(const std::filesystem::path& video,
                            const std::optional<std::filesystem::path>& source,
                            const std::optional<std::filesystem::path>& compare,
                            io::Image* contact_sheet) {
  // Both videos are opened (and checked against the caps) before anything is decoded.
  io::VideoReader reader(video);
  const io::VideoInfo& info = reader.info();
  std::optional<io::VideoReader> other;
  if (compare) {
    other.emplace(*compare);
    RAYVID_CHECK(other->info().width == info.width && other->info().height == info.height, BadInput,
                 "--compare video is {}x{} but the video is {}x{}; compare videos of the same size",
                 other->info().width, other->info().height, info.width, info.height);
  }
  std::optional<io::Image> image;
  if (source) image = io::read_image(*source);
  AnalysisOptions options;
  if (info.fps > 0) options.fps = info.fps;
  VideoAnalyzer analyzer(info.width, info.height, image ? &*image : nullptr, other.has_value(),
                         options);
  std::optional<ContactSheetBuilder> sheet;
  if (contact_sheet != nullptr) sheet.emplace(info.width, info.height, info.frame_count);
  // One buffer per video, refilled frame by frame; at the end `frame` still holds the last frame
  // (VideoReader::next leaves it as it was), which the contact sheet includes.
  std::vector<uint8_t> frame, other_frame;
  bool other_live = other.has_value();
  while (reader.next(frame)) {
    const FrameView current{info.width, info.height, frame.data()};
    other_live = other_live && other->next(other_frame);
    const FrameView compared{info.width, info.height, other_frame.data()};
    analyzer.add(current, other_live ? &compared : nullptr);
    if (sheet) sheet->add(reader.frames_read() - 1, current);
  }
  RAYVID_CHECK(reader.frames_read() > 0, BadInput, "{}: contains no decodable frames",
               video.string());
  if (sheet)
    *contact_sheet = sheet->finish(reader.frames_read(), {info.width, info.height, frame.data()});
  return analyzer.finish();
}

}  // namespace rayvid::analysis
