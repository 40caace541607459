// VideoAnalysis out: JSON (summary + per-frame rows), CSV (one row per frame) and the short summary
// that `rayvid generate --analyze` puts into the sidecar.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "analysis/video_analysis.h"

namespace rayvid::analysis {

nlohmann::json summary_json(const VideoAnalysis& analysis);  // scalars only
nlohmann::json to_json(const VideoAnalysis& analysis);       // summary + "per_frame" array

// Columns: frame, source_psnr, source_ssim, source_delta_e, flow_mean, flow_top5, warp_error,
// warp_valid_fraction, abs_diff, compare_psnr, compare_ssim; an absent value is an empty cell.
std::string to_csv(const VideoAnalysis& analysis);

}  // namespace rayvid::analysis
