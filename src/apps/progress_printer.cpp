// Progress printing: one line per stage and per denoising step.
#include "apps/progress_printer.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "core/check.h"

namespace rayvid::apps {

ProgressMode parse_progress_mode(const std::string& name, bool quiet) {
  if (quiet) return ProgressMode::kQuiet;
  if (name == "text") return ProgressMode::kText;
  if (name == "json") return ProgressMode::kJson;
  fail(ErrorCategory::kBadArgument, "--progress '{}' must be text or json", name);
}

ProgressCallback make_progress_printer(ProgressMode mode) {
  if (mode == ProgressMode::kQuiet) return {};
  if (mode == ProgressMode::kJson) {
    return [](const Progress& p) {
      const nlohmann::json j = {{"stage", p.stage},
                                {"step", p.step},
                                {"total_steps", p.total_steps},
                                {"seconds_per_step", p.seconds_per_step},
                                {"eta_seconds", p.eta_seconds},
                                {"elapsed_seconds", p.elapsed_seconds}};
      std::fprintf(stderr, "%s\n", j.dump().c_str());
    };
  }
  return [](const Progress& p) {
    std::string line;
    if (p.total_steps > 0 && p.step > 0) {
      line = fmt::format("[{:>7.1f}s] {} step {}/{}  {:.2f} s/step  ETA {:.0f}s", p.elapsed_seconds,
                         p.stage, p.step, p.total_steps, p.seconds_per_step, p.eta_seconds);
    } else {
      line = fmt::format("[{:>7.1f}s] {}", p.elapsed_seconds, p.stage);
    }
    std::fprintf(stderr, "%s\n", line.c_str());
  };
}

}  // namespace rayvid::apps
