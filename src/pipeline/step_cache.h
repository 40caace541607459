// Step caching: on some denoising steps the DiT's transformer blocks do not run; the residual they
// added at the last step that ran them is reused (Denoiser::forward_cached). Which steps:
//   TeaCache (ali-vilab/TeaCache, TeaCache4Wan2.1): accumulate poly(rel L1 change of the timestep
//     embedding e, or of its projection e0 in "use_ret_steps" mode) and skip while the sum stays
//     below the threshold. The first step (e) or first five (e0), and in e mode the last step,
//     always run. The embedding depends on the timestep alone, so the schedule is fixed by the
//     weights and the timesteps. On Wan2.2 TI2V (a timestep per token) it watches the step's
//     timestep, the one every noisy token has.
//   MagCache (diffusers' hooks/mag_cache.py, Zehong-Ma/MagCache): multiply the published per-step
//     magnitude ratios into an accumulated ratio, add |1 - ratio| to an accumulated error, and
//     skip while the error stays within the threshold and at most K steps in a row; no skipping in
//     the first retention_ratio of the steps. Fixed by the ratios alone: magcache_schedule().
//   FirstBlockCache (diffusers' hooks/first_block_cache.py): the first block always runs; the
//     others run when its residual moved (mean |r - r_prev| / mean |r_prev|) by more than the
//     threshold since they last ran, else their residual is reused. Data-dependent, so decided
//     inside the forward, per batch row: cond and uncond may differ, as diffusers' two contexts.
// For TeaCache and MagCache the cond and uncond branches get the same decisions (both watch the
// same timestep; diffusers' MagCache gives each context the same ratios), so the batch-2 forward
// skips or runs as one. Every decision is logged and reported (GenerateResult::cache_steps).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "pipeline/components.h"

namespace rayvid::pipeline {

struct StepCacheSettings {
  std::string method;                // "teacache", "magcache" or "fbcache"
  std::string table;                 // the published table used, e.g. "t2v-1.3b"
  double threshold = 0;              // teacache: on the accumulated poly(rel); magcache: error
  bool teacache_e0 = false;          // teacache: watch e0 (use_ret_steps) instead of e
  std::vector<double> coefficients;  // teacache: polynomial, highest power first
  std::vector<double> mag_ratios;    // magcache: per step (before interpolation to the steps)
  int max_skip_steps = 3;            // magcache: K
  double retention_ratio = 0.2;      // magcache
};

// nearest_interp of diffusers' mag_cache.py: src resampled to `target` entries.
std::vector<double> nearest_interp(const std::vector<double>& src, int target);

// MagCache's decisions for `num_steps` steps (true = run the blocks), exactly as diffusers'
// MagCacheHeadHook takes them (float32 accumulators, like its tensors).
std::vector<bool> magcache_schedule(const StepCacheSettings& settings, int num_steps);

// TeaCache's decisions from the timestep embeddings of every step ([steps, dim] fp32, `e` or `e0`
// as settings.teacache_e0 says): what StepCache decides during a run, for --dry-run.
std::vector<bool> teacache_schedule(const StepCacheSettings& settings,
                                    const at::Tensor& embeddings);

class StepCache {
 public:
  StepCache(StepCacheSettings settings, int num_steps);

  // Whether step `step` (0-based, at `timestep`) runs the blocks; asks `model` for its timestep
  // embedding (TeaCache).
  bool compute(int step, double timestep, Denoiser& model);

  // FirstBlockCache decides inside the forward; record() then logs what each batch row did.
  bool decides_inside_forward() const { return settings_.method == "fbcache"; }
  void record(int step, double timestep, const std::vector<bool>& rows_ran);

  const StepCacheSettings& settings() const { return settings_; }
  // One per step so far: whether the blocks ran (FirstBlockCache: the blocks after the first,
  // for any row).
  const std::vector<bool>& decisions() const { return decisions_; }

 private:
  StepCacheSettings settings_;
  int num_steps_;
  std::vector<bool> planned_;  // magcache: the whole schedule up front
  std::vector<bool> decisions_;
  at::Tensor previous_embedding_;  // teacache
  double accumulated_ = 0;         // teacache
};

// The published tables, by name: TeaCache polynomials (e and e0 modes) and MagCache ratios (the
// conditional branch's, per step) for Wan2.1 T2V 1.3B / 14B and I2V 480p / 720p.
std::vector<std::string> step_cache_table_names();
// Fills table, coefficients / mag_ratios for `method` from table `name`; false if none.
bool fill_step_cache_table(const std::string& name, StepCacheSettings& settings);

}  // namespace rayvid::pipeline
