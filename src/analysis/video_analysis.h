// `rayvid analyze`: classic motion and source-preservation metrics of one decoded video, optionally
// against its source image and against a second video. Definitions, formulas and references are in
// docs/research-tools.md; each field below names its unit.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "analysis/color.h"
#include "analysis/frame_view.h"
#include "io/image.h"
#include "io/video.h"

namespace rayvid::analysis {

struct AnalysisOptions {
  double fps = 16;  // the video's frame rate: sets VBench's frame sampling for the dynamic degree
  // Frozen output: a pair of consecutive frames is "still" when its mean absolute difference is
  // below still_abs_diff 8-bit levels and its mean flow below still_flow pixels (a slow pan over
  // smooth content can differ by ~1 level per frame, so the difference alone is not enough); the
  // video is frozen when at least frozen_fraction of pairs are still.
  double still_abs_diff = 1.0;
  double still_flow = 0.1;
  double frozen_fraction = 0.9;
};

// One row per frame; pair metrics (flow, warp, difference) describe frame i-1 -> i and are absent
// for frame 0; source/compare metrics are absent without a source/compare video.
struct FrameRow {
  int frame = 0;
  std::optional<double> source_psnr, source_ssim, source_delta_e;  // dB, [-1, 1], CIEDE2000
  std::optional<double> flow_mean, flow_top5;                      // pixels
  std::optional<double> warp_error, warp_valid_fraction;           // [0,1]^2 units, share
  std::optional<double> abs_diff;                                  // 8-bit levels
  std::optional<double> compare_psnr, compare_ssim;
};

struct DynamicDegree {
  int frame_interval = 1;  // VBench samples every round(fps / 8)-th frame
  int sampled_frames = 0;
  double threshold = 0;    // pixels: 6 * max(1, 8 / fps) * min(H, W) / 256
  int required_count = 0;  // max(1, round(4 * sampled_frames / 16)), ties to even as Python
  int moving_pairs = 0;    // sampled pairs whose top-5% flow exceeds the threshold
  double fraction = 0;     // moving_pairs / (sampled_frames - 1): a continuous dynamic degree
  bool dynamic = false;    // VBench's binary verdict: moving_pairs >= required_count
};

struct VideoAnalysis {
  int width = 0, height = 0, frames = 0;
  double fps = 0;
  bool has_source = false, has_compare = false;
  std::vector<FrameRow> rows;
  // Summary
  std::optional<double> first_frame_psnr, first_frame_ssim;  // frame 0 vs the source
  std::optional<double> mean_source_psnr, mean_source_ssim;  // over all frames
  std::optional<double> last_frame_psnr, last_frame_ssim;
  std::optional<double> mean_delta_e, last_delta_e;  // CIEDE2000 vs the source
  double mean_flow = 0;                              // pixels per frame, over all consecutive pairs
  double mean_warp_error = 0;                        // over all consecutive pairs
  double mean_abs_diff = 0;                          // 8-bit levels, over all consecutive pairs
  double flicker_score = 1;  // VBench temporal flickering: (255 - mean_abs_diff) / 255
  DynamicDegree dynamic;
  double still_fraction = 0;  // share of consecutive pairs below still_abs_diff
  bool frozen = false;
  std::optional<double> mean_compare_psnr, mean_compare_ssim;
};

// The streaming form: frames go in one at a time, in order, and nothing is kept of them but what
// the metrics still need: the prepared source (RGB and Lab), the previous frame (for flow, warping
// error and difference) and, when VBench's sampling interval is above 1, the last sampled frame
// (for the dynamic degree). Memory is a few frames whatever the length; the per-frame rows are
// small.
class VideoAnalyzer {
 public:
  // The source is prepared as in analyze_video; has_compare says whether compare frames will come.
  VideoAnalyzer(int width, int height, const io::Image* source, bool has_compare,
                const AnalysisOptions& options);
  // Frame i of the video (width x height), and frame i of the compare video while it lasts.
  void add(FrameView frame, const FrameView* compare = nullptr);
  VideoAnalysis finish();  // the summary; at least one frame must have been added

 private:
  VideoAnalysis out_;
  AnalysisOptions options_;
  io::Image prepared_;                 // the source, resized and cropped to the video
  std::vector<Lab> source_lab_;        // [height * width]
  std::vector<uint8_t> previous_;      // frame i-1, [height, width, 3]
  std::vector<uint8_t> last_sampled_;  // the last frame VBench samples, when the interval is > 1
  int still_ = 0;
};

// The source image is resized to cover the video and centre-cropped (io::resize_cover_crop), the
// same preparation the engine applies before encoding it. compare must have the same size; when
// the frame counts differ, the common prefix is compared.
VideoAnalysis analyze_video(const io::VideoFrames& video, const io::Image* source,
                            const io::VideoFrames* compare, const AnalysisOptions& options);

// Convenience for files: streams the video(s) through a VideoAnalyzer (one frame at a time; both
// videos within io::VideoLimits, checked before decoding) and reads the image. With
// `contact_sheet`, also lays out a contact sheet of the video (default ContactSheetOptions).
VideoAnalysis analyze_files(const std::filesystem::path& video,
                            const std::optional<std::filesystem::path>& source,
                            const std::optional<std::filesystem::path>& compare,
                            io::Image* contact_sheet = nullptr);

}  // namespace rayvid::analysis
