// The hook for `rayvid generate --analyze`: after the MP4 is written, the engine calls this and
// puts the result into the sidecar under "analysis" (wired by the engine owner).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

namespace rayvid::engine {

// Decodes the written video and returns the scalar metrics of `rayvid analyze` (analysis::
// summary_json): motion, dynamic degree, flicker, frozen flag, and - when the request had a source
// image - first-frame PSNR/SSIM and colour drift against it.
nlohmann::json analysis_summary(const std::filesystem::path& video,
                                const std::optional<std::filesystem::path>& source_image);

}  // namespace rayvid::engine
