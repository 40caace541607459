// Flow-matching schedulers: one interface, one file per sampler. A scheduler turns a step count
// into a sigma/timestep schedule and advances the latent one step from the model's velocity
// prediction, reproducing diffusers' arithmetic (float32 schedules, integer or float timesteps).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "io/json_file.h"

namespace rayvid::sampling {

// A shift this large already maps every sigma to ~1 (no denoising at all); infinity gives NaN
// sigmas. Wan uses 3..12.
inline constexpr double kMaxShift = 100.0;

// scheduler/scheduler_config.json of a diffusers Wan folder, plus rayvid's overrides.
struct SchedulerConfig {
  std::string class_name = "UniPCMultistepScheduler";  // as saved by diffusers
  int num_train_timesteps = 1000;                      // 1000 for every Wan model
  double shift = 5.0;               // flow_shift (UniPC) or shift (FlowMatchEuler); Wan: 3.0-12.0
  int solver_order = 2;             // UniPC / DPM++ history length
  std::string solver_type = "bh2";  // UniPC B(h): bh1 or bh2
  bool lower_order_final = true;    // drop to first order on the last steps
  std::vector<int> disable_corrector;      // UniPC steps whose corrector is skipped
  std::string final_sigmas_type = "zero";  // "zero" or "sigma_min"

  static SchedulerConfig from_json(const io::JsonFile& file);
  // `where` names the source in errors: the config file, or "[SchedulerConfig]".
  void validate(const std::string& where = "[SchedulerConfig]") const;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual std::string name() const = 0;  // "unipc", "euler", "dpm++"

  // Prepares a schedule of `num_steps` steps and clears the solver history.
  virtual void set_timesteps(int num_steps) = 0;
  // A given schedule instead (diffusers' set_timesteps(sigmas=...)): one unshifted noise level in
  // (0, 1] per step, shifted like the computed ones; the last sigma, 0, is added. Samplers that
  // only take a step count refuse it (kUnsupported).
  virtual void set_sigmas(const std::vector<double>& sigmas);
  // The timestep the model sees at each step (0..1000 scale); diffusers' values exactly.
  const std::vector<double>& timesteps() const { return timesteps_; }
  // num_steps + 1 noise levels in [0, 1], float32-rounded like diffusers'; the last is 0.
  const std::vector<float>& sigmas() const { return sigmas_; }
  int step_index() const { return step_index_; }

  // One step: from the model's flow (velocity) prediction at the current step and the current
  // sample to the sample at the next noise level. Samples are float32.
  virtual at::Tensor step(const at::Tensor& model_output, const at::Tensor& sample) = 0;

 protected:
  std::vector<double> timesteps_;
  std::vector<float> sigmas_;
  int step_index_ = 0;
};

// The samplers `--sampler` accepts: "unipc" (default for Wan), "euler", "dpm++".
std::vector<std::string> sampler_names();
// Builds a sampler from the folder's scheduler config; `shift` overrides the configured shift
// when positive.
std::unique_ptr<Scheduler> make_scheduler(const std::string& sampler, SchedulerConfig config,
                                          double shift = 0);

// The shifted flow sigma: shift * s / (1 + (shift - 1) * s).
inline double shift_sigma(double sigma, double shift) {
  return shift * sigma / (1 + (shift - 1) * sigma);
}

}  // namespace rayvid::sampling
