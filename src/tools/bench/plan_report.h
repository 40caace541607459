// `rayvid bench --plan` output: a terminal table and JSON of a CostPlan, with measured-over-floor
// ratios when a measured run is given.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tools/bench/cost_model.h"

namespace rayvid::tools::bench {

struct MeasuredRun {
  double seconds_per_step = 0;  // median denoise step (both CFG branches)
  double total_seconds = 0;     // whole run, 0 if unknown
  std::string label;            // where it came from
};

// Reads a measured run from a `rayvid bench` sampler JSON (the first run, or the one matching
// sampler:steps when label_hint is "sampler:steps") or from a `rayvid generate` sidecar
// (step_seconds, timings.total). kBadInput naming the file and the missing field otherwise.
MeasuredRun read_measured_run(const std::filesystem::path& file,
                              const std::string& label_hint = "");

std::string format_plan(const CostPlan& plan, const std::optional<MeasuredRun>& measured);
nlohmann::json plan_json(const CostPlan& plan, const std::optional<MeasuredRun>& measured);

// Human units: "283.1 TFLOP", "2.84 GB", "1.23 s" / "4 min 5 s".
std::string human_flops(double flops);
std::string human_bytes(double bytes);
std::string human_seconds(double seconds);

}  // namespace rayvid::tools::bench
