// `rayvid generate --analyze`: analysis of the written MP4 as a JSON summary.
#include "engine/analysis_summary.h"

#include "analysis/report.h"
#include "analysis/video_analysis.h"

namespace rayvid::engine {

nlohmann::json analysis_summary(const std::filesystem::path& video,
                                const std::optional<std::filesystem::path>& source_image) {
  return analysis::summary_json(analysis::analyze_files(video, source_image, std::nullopt));
}

}  // namespace rayvid::engine
