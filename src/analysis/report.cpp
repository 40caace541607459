// JSON and CSV views of a VideoAnalysis. Absent metrics are JSON null and empty CSV cells.
#include "analysis/report.h"

#include <fmt/format.h>

namespace rayvid::analysis {
namespace {

nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nullptr; }

std::string cell(const std::optional<double>& v) { return v ? fmt::format("{:.6g}", *v) : ""; }

}  // namespace

nlohmann::json summary_json(const VideoAnalysis& a) {
  nlohmann::json j;
  j["video"] = {{"width", a.width}, {"height", a.height}, {"frames", a.frames}, {"fps", a.fps}};
  if (a.has_source)
    j["source"] = {{"first_frame_psnr_db", opt(a.first_frame_psnr)},
                   {"first_frame_ssim", opt(a.first_frame_ssim)},
                   {"last_frame_psnr_db", opt(a.last_frame_psnr)},
                   {"last_frame_ssim", opt(a.last_frame_ssim)},
                   {"mean_psnr_db", opt(a.mean_source_psnr)},
                   {"mean_ssim", opt(a.mean_source_ssim)},
                   {"mean_delta_e_2000", opt(a.mean_delta_e)},
                   {"last_delta_e_2000", opt(a.last_delta_e)}};
  j["motion"] = {{"mean_flow_px", a.mean_flow},        {"mean_warp_error", a.mean_warp_error},
                 {"mean_abs_diff", a.mean_abs_diff},   {"flicker_score", a.flicker_score},
                 {"still_fraction", a.still_fraction}, {"frozen", a.frozen}};
  const auto& d = a.dynamic;
  j["dynamic_degree"] = {{"dynamic", d.dynamic},
                         {"fraction", d.fraction},
                         {"moving_pairs", d.moving_pairs},
                         {"required_count", d.required_count},
                         {"threshold_px", d.threshold},
                         {"frame_interval", d.frame_interval},
                         {"sampled_frames", d.sampled_frames}};
  if (a.has_compare)
    j["compare"] = {{"mean_psnr_db", opt(a.mean_compare_psnr)},
                    {"mean_ssim", opt(a.mean_compare_ssim)}};
  return j;
}

nlohmann::json to_json(const VideoAnalysis& a) {
  nlohmann::json j = summary_json(a);
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : a.rows)
    rows.push_back({{"frame", r.frame},
                    {"source_psnr", opt(r.source_psnr)},
                    {"source_ssim", opt(r.source_ssim)},
                    {"source_delta_e", opt(r.source_delta_e)},
                    {"flow_mean", opt(r.flow_mean)},
                    {"flow_top5", opt(r.flow_top5)},
                    {"warp_error", opt(r.warp_error)},
                    {"warp_valid_fraction", opt(r.warp_valid_fraction)},
                    {"abs_diff", opt(r.abs_diff)},
                    {"compare_psnr", opt(r.compare_psnr)},
                    {"compare_ssim", opt(r.compare_ssim)}});
  j["per_frame"] = rows;
  return j;
}

std::string to_csv(const VideoAnalysis& a) {
  std::string out =
      "frame,source_psnr,source_ssim,source_delta_e,flow_mean,flow_top5,warp_error,"
      "warp_valid_fraction,abs_diff,compare_psnr,compare_ssim\n";
  for (const auto& r : a.rows)
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", r.frame, cell(r.source_psnr),
                       cell(r.source_ssim), cell(r.source_delta_e), cell(r.flow_mean),
                       cell(r.flow_top5), cell(r.warp_error), cell(r.warp_valid_fraction),
                       cell(r.abs_diff), cell(r.compare_psnr), cell(r.compare_ssim));
  return out;
}

}  // namespace rayvid::analysis
