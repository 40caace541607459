// `rayvid bench --model DIR --samplers ... --steps ...`: every sampler x step count through
// Engine::generate with one seed, timed and compared with a reference run. This header holds the
// plain records and their reports (table, JSON, CSV), which are unit-tested on synthetic results;
// run_sampler_bench drives the engine.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "analysis/object_track.h"
#include "rayvid/rayvid.h"

namespace rayvid::tools::bench {

struct SamplerCase {
  std::string sampler;  // unipc | euler | dpm++
  int steps = 0;
  std::string cache;           // "" or a step cache: teacache | magcache | fbcache
  double cache_threshold = 0;  // with cache
  std::string label() const;   // "unipc:50", "unipc:50+magcache:0.12"
  bool operator==(const SamplerCase& o) const {
    return sampler == o.sampler && steps == o.steps && cache == o.cache &&
           cache_threshold == o.cache_threshold;
  }
};

// "magcache:0.12,teacache:0.08" -> one case per entry at the reference's sampler and steps (what
// a cache is compared with: the same run uncached). kBadArgument for a malformed entry.
std::vector<SamplerCase> parse_cache_cases(const std::string& caches, const SamplerCase& reference);

// "unipc,euler" x "4,8" -> 4 cases in that order. Unknown samplers and non-positive step counts
// are kBadArgument errors.
std::vector<SamplerCase> parse_cases(const std::string& samplers, const std::string& steps);
// "unipc:50" -> {unipc, 50}. Empty -> the default sampler (unipc) at the most steps of the grid.
SamplerCase parse_reference(const std::string& text, const std::vector<SamplerCase>& grid);

// --expect-motion COLOUR:DIRECTION: what the prompt asks to see, checked in every run's video
// (for models that follow such prompts, e.g. the tiny model trained on the synthetic world).
struct ExpectedMotion {
  analysis::ColourTarget colour;
  std::string direction;  // left | right | up | down
};
// "red:left" -> {red, left}. kBadArgument for a malformed entry, an unknown colour or direction.
ExpectedMotion parse_expected_motion(const std::string& text);

// How a run's tracked object compares with the expectation.
struct MotionCheck {
  analysis::ObjectTrack track;
  bool matches = false;  // found, and moving in the expected direction
  // Angle between the object's displacement and the expected direction, degrees (0: exactly that
  // way, 180: the opposite); absent when the object was found in fewer than two frames or stays.
  std::optional<double> angle_error_deg;
};
MotionCheck check_motion(const analysis::ObjectTrack& track, const ExpectedMotion& expected);

struct StepStats {
  int timed_steps = 0;  // steps after the warm-up step (all steps if there is only one)
  double median = 0, min = 0, max = 0;
  double spread = 0;  // max - min over the timed steps
};
// The first step is a warm-up (allocator, kernel selection, caches) and is excluded when there
// are at least two steps.
StepStats step_stats(const std::vector<double>& step_seconds);
// The same figures over steps that are all timed (the warm-up already left out).
StepStats summarize_steps(const std::vector<double>& timed_seconds);

struct SamplerRecord {
  SamplerCase which;
  bool is_reference = false;
  GenerateResult result;
  StepStats steps;
  std::string latents_file;                // the final latent (last --dump-latents step)
  std::optional<double> latent_rel_error;  // ||z - z_ref|| / ||z_ref||
  std::optional<double> psnr, ssim;        // decoded frames vs the reference video, mean
  int dit_forwards = 0;               // forwards that ran the DiT's blocks: one per branch and step
  int forwards_reused = 0;            // the ones a step cache replaced by the stored residual
  std::optional<MotionCheck> motion;  // with --expect-motion
};

SamplerRecord make_record(const SamplerCase& which, const GenerateResult& result);

struct SamplerBenchMeta {
  std::string model_dir, variant, device, prompt;
  uint64_t seed = 0;
  int width = 0, height = 0, frames = 0;
  SamplerCase reference;
};

std::string format_sampler_table(const std::vector<SamplerRecord>& records);
nlohmann::json sampler_json(const SamplerBenchMeta& meta,
                            const std::vector<SamplerRecord>& records);
// Columns: label, sampler, steps, reference, seconds_per_step_median, seconds_per_step_min,
// seconds_per_step_max, denoise_seconds, vae_decode_seconds, total_seconds, peak_memory_gb,
// latent_rel_error, psnr_db, ssim, cache, dit_forwards, forwards_reused, motion_direction,
// motion_matches, motion_angle_error_deg
std::string sampler_csv(const std::vector<SamplerRecord>& records);

struct SamplerBenchOptions {
  GenerateRequest base;  // prompt, preset, seed, guidance...; sampler/steps set per case
  std::vector<SamplerCase> cases;
  SamplerCase reference;
  std::filesystem::path out_dir;  // videos, latents, JSON and CSV go here
  ProgressCallback progress;      // per run; may be empty
  std::optional<ExpectedMotion> expected_motion;
};

// Runs the reference first (so each case is compared as soon as it finishes), then every case
// (a case equal to the reference reuses its run), and fills the quality fields.
std::vector<SamplerRecord> run_sampler_bench(Engine& engine, const SamplerBenchOptions& options);

// Quality of one run against the reference: final latents and decoded videos.
void compare_with_reference(SamplerRecord& record, const SamplerRecord& reference);

}  // namespace rayvid::tools::bench
