// Step caching decisions (see step_cache.h).
#include "pipeline/step_cache.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace rayvid::pipeline {
namespace {

struct Table {
  const char* name;
  std::vector<double> teacache_e, teacache_e0;  // highest power first
  std::vector<double> magcache;                 // conditional branch, per step
};

// TeaCache4Wan2.1/teacache_generate.py and MagCache4Wan2.1/magcache_generate.py (every second
// entry of the interleaved cond/uncond arrays: the cond branch's, as one list per context is what
// diffusers' MagCacheConfig takes).
const std::vector<Table>& tables() {
  static const std::vector<Table> all = {
      {"t2v-1.3b",
       {2.39676752e+03, -1.31110545e+03, 2.01331979e+02, -8.29855975e+00, 1.37887774e-01},
       {-5.21862437e+04, 9.23041404e+03, -5.28275948e+02, 1.36987616e+01, -4.99875664e-02},
       {1,       1.0124,  1.00166, 0.99791, 0.99682, 0.99634, 0.99567, 0.99416, 0.99578, 0.9957,
        0.99511, 0.99535, 0.99552, 0.99541, 0.9954,  0.99489, 0.99518, 0.99484, 0.99481, 0.99415,
        0.99419, 0.99396, 0.99388, 0.99349, 0.99309, 0.9927,  0.99228, 0.99171, 0.99137, 0.99068,
        0.99005, 0.98944, 0.98849, 0.98758, 0.98644, 0.98504, 0.9836,  0.98202, 0.97977, 0.97717,
        0.9741,  0.97003, 0.96538, 0.9593,  0.95086, 0.94013, 0.92402, 0.90241, 0.86821, 0.81838}},
      {"t2v-14b",
       {-5784.54975374, 5449.50911966, -1811.16591783, 256.27178429, -13.02252404},
       {-3.03318725e+05, 4.90537029e+04, -2.65530556e+03, 5.87365115e+01, -3.15583525e-01},
       {1,       1.02504, 1.00025, 0.9985,  0.99779, 0.9966,  0.99482, 0.99467, 0.99664, 0.99434,
        0.99533, 0.99468, 0.99438, 0.99516, 0.99384, 0.99404, 0.99517, 0.99409, 0.99428, 0.99347,
        0.99418, 0.99271, 0.99313, 0.99215, 0.99218, 0.99216, 0.99163, 0.99138, 0.98982, 0.98996,
        0.9887,  0.98772, 0.98767, 0.98573, 0.98501, 0.9838,  0.98177, 0.98037, 0.97678, 0.97546,
        0.97184, 0.96711, 0.96349, 0.95629, 0.94926, 0.93964, 0.92511, 0.90693, 0.8796,  0.86111}},
      {"i2v-480p",
       {-3.02331670e+02, 2.23948934e+02, -5.25463970e+01, 5.87348440e+00, -2.01973289e-01},
       {2.57151496e+05, -3.54229917e+04, 1.40286849e+03, -1.35890334e+01, 1.32517977e-01},
       {1,       0.98783, 0.97559, 0.98311, 0.98202, 0.9888,  0.98762, 0.98957, 0.99052, 0.99383,
        0.98857, 0.99065, 0.98845, 0.99057, 0.98957, 0.98601, 0.98823, 0.98756, 0.98808, 0.98721,
        0.98571, 0.98543, 0.98157, 0.98411, 0.97952, 0.98149, 0.9774,  0.97825, 0.97355, 0.97085,
        0.97056, 0.96588, 0.96113, 0.9567,  0.94961, 0.93973, 0.93217, 0.91878, 0.90955, 0.92617}},
      {"i2v-720p",
       {-114.36346466, 65.26524496, -18.82220707, 4.91518089, -0.23412683},
       {8.10705460e+03, 2.13393892e+03, -3.72934672e+02, 1.66203073e+01, -4.17769401e-02},
       {1,       0.99428, 0.98588, 0.98273, 0.99018, 0.98911, 0.98646, 0.99454, 0.9891,  0.99124,
        0.99102, 0.99215, 0.99515, 0.99576, 0.99068, 0.99097, 0.99166, 0.99041, 0.99201, 0.99101,
        0.98599, 0.98845, 0.98848, 0.98862, 0.98718, 0.98497, 0.98264, 0.98389, 0.97938, 0.97535,
        0.97498, 0.973,   0.96827, 0.96261, 0.95335, 0.94649, 0.93397, 0.91636, 0.89088, 0.8679}},
  };
  return all;
}

// np.poly1d(coefficients)(x), highest power first (Horner).
double polynomial(const std::vector<double>& coefficients, double x) {
  double y = 0;
  for (double c : coefficients) y = y * x + c;
  return y;
}

}  // namespace

std::vector<std::string> step_cache_table_names() {
  std::vector<std::string> names;
  for (const Table& t : tables()) names.push_back(t.name);
  return names;
}

bool fill_step_cache_table(const std::string& name, StepCacheSettings& settings) {
  for (const Table& t : tables()) {
    if (name != t.name) continue;
    settings.table = t.name;
    settings.coefficients = settings.teacache_e0 ? t.teacache_e0 : t.teacache_e;
    settings.mag_ratios = t.magcache;
    return true;
  }
  return false;
}

std::vector<double> nearest_interp(const std::vector<double>& src, int target) {
  RAYVID_CHECK(!src.empty() && target >= 1, Internal, "nearest_interp: nothing to interpolate");
  if (target == 1) return {src.back()};
  // torch: arange(target, float32) * scale (a float32 product), then round half to even.
  const float scale = static_cast<float>(static_cast<double>(src.size() - 1) / (target - 1));
  std::vector<double> out;
  for (int i = 0; i < target; ++i) {
    const float mapped = static_cast<float>(i) * scale;
    out.push_back(src.at(static_cast<size_t>(std::nearbyint(mapped))));
  }
  return out;
}

namespace {

// One TeaCache4Wan2.1 decision: step `step` of `num_steps` with this step's embedding; `previous`
// and `accumulated` carry over between steps.
bool teacache_step(const StepCacheSettings& s, int step, int num_steps, const at::Tensor& embedding,
                   at::Tensor& previous, double& accumulated) {
  // ret_steps 1 (e) or 5 (e0) steps always run, and in e mode the last step.
  const int ret_steps = s.teacache_e0 ? 5 : 1;
  const int cutoff = s.teacache_e0 ? num_steps : num_steps - 1;
  bool run = true;
  if (step < ret_steps || step >= cutoff || !previous.defined()) {
    accumulated = 0;
  } else {
    const double rel = ((embedding - previous).abs().mean() / previous.abs().mean()).item<float>();
    accumulated += polynomial(s.coefficients, rel);
    if (accumulated < s.threshold) {
      run = false;
    } else {
      accumulated = 0;
    }
  }
  previous = embedding;
  return run;
}

}  // namespace

std::vector<bool> teacache_schedule(const StepCacheSettings& s, const at::Tensor& embeddings) {
  const int steps = static_cast<int>(embeddings.size(0));
  at::Tensor previous;
  double accumulated = 0;
  std::vector<bool> run;
  for (int i = 0; i < steps; ++i)
    run.push_back(teacache_step(s, i, steps, embeddings.narrow(0, i, 1), previous, accumulated));
  return run;
}

std::vector<bool> magcache_schedule(const StepCacheSettings& s, int num_steps) {
  const std::vector<double> ratios = static_cast<int>(s.mag_ratios.size()) == num_steps
                                         ? s.mag_ratios
                                         : nearest_interp(s.mag_ratios, num_steps);
  // diffusers keeps the ratios in a float32 tensor, so the accumulators are float32 too.
  const int retention_step = static_cast<int>(s.retention_ratio * num_steps + 0.5);
  const float threshold = static_cast<float>(s.threshold);
  float ratio = 1.0f, error = 0.0f;
  int skipped_in_a_row = 0;
  bool have_residual = false;
  std::vector<bool> run;
  for (int step = 0; step < num_steps; ++step) {
    bool compute = true;
    if (step >= retention_step) {
      ratio *= static_cast<float>(ratios[step]);
      skipped_in_a_row += 1;
      error += std::fabs(1.0f - ratio);
      if (have_residual && error <= threshold && skipped_in_a_row <= s.max_skip_steps) {
        compute = false;
      } else {
        ratio = 1.0f, error = 0.0f, skipped_in_a_row = 0;
      }
    }
    have_residual = have_residual || compute;
    run.push_back(compute);
  }
  return run;
}

StepCache::StepCache(StepCacheSettings settings, int num_steps)
    : settings_(std::move(settings)), num_steps_(num_steps) {
  RAYVID_CHECK(settings_.method == "teacache" || settings_.method == "magcache" ||
                   settings_.method == "fbcache",
               Internal, "step cache: unknown method '{}'", settings_.method);
  if (settings_.method == "magcache") planned_ = magcache_schedule(settings_, num_steps);
}

bool StepCache::compute(int step, double timestep, Denoiser& model) {
  bool run = true;
  if (settings_.method == "magcache") {
    run = planned_.at(step);
  } else {
    run = teacache_step(settings_, step, num_steps_,
                        model.time_embedding(timestep, settings_.teacache_e0), previous_embedding_,
                        accumulated_);
  }
  decisions_.push_back(run);
  spdlog::debug("{} step {} (t {:.2f}): {}", settings_.method, step, timestep,
                run ? "runs the blocks" : "reuses the cached residual");
  return run;
}

void StepCache::record(int step, double timestep, const std::vector<bool>& rows_ran) {
  const bool any = std::find(rows_ran.begin(), rows_ran.end(), true) != rows_ran.end();
  decisions_.push_back(any);
  std::string rows;
  for (bool r : rows_ran) rows += r ? "run" : "reuse", rows += " ";
  spdlog::debug("fbcache step {} (t {:.2f}): rows {}", step, timestep, rows);
}

}  // namespace rayvid::pipeline
