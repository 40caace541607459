// FlowMatch Euler: schedule and step, float for float with diffusers.
#include "sampling/flow_match_euler.h"

#include <ATen/ATen.h>

#include "core/check.h"

namespace rayvid::sampling {

void FlowMatchEulerScheduler::set_timesteps(int num_steps) {
  RAYVID_CHECK(num_steps >= 1, BadArgument, "--steps {} must be at least 1", num_steps);
  const double n_train = config_.num_train_timesteps;
  const float shift = static_cast<float>(config_.shift);
  // diffusers builds its training sigmas in float32 and shifts them once at construction; the
  // inference range runs from the shifted sigma_max to the shifted sigma_min, and is shifted
  // again below. We reproduce that double shift of sigma_min on purpose.
  const float s_min = 1.0f / static_cast<float>(n_train);
  const float sigma_min_init = shift * s_min / (1.0f + (shift - 1.0f) * s_min);
  const double t_max = 1.0 * n_train, t_min = static_cast<double>(sigma_min_init) * n_train;

  sigmas_.clear();
  timesteps_.clear();
  // np.linspace(t_max, t_min, num_steps): i * step + start, with the last value exactly t_min.
  const double step = num_steps > 1 ? (t_min - t_max) / (num_steps - 1) : 0.0;
  for (int i = 0; i < num_steps; ++i) {
    const double t = (num_steps > 1 && i == num_steps - 1) ? t_min : i * step + t_max;
    const float sigma = static_cast<float>(shift_sigma(t / n_train, config_.shift));
    sigmas_.push_back(sigma);
    timesteps_.push_back(static_cast<double>(sigma * static_cast<float>(n_train)));
  }
  sigmas_.push_back(0.0f);
  step_index_ = 0;
}

void FlowMatchEulerScheduler::set_sigmas(const std::vector<double>& given) {
  RAYVID_CHECK(!given.empty(), BadArgument, "euler: an empty schedule");
  // diffusers: np.float32 sigmas, shifted in float32 (numpy keeps the Python shift weak), then
  // timesteps = sigmas * num_train_timesteps in float32.
  const float shift = static_cast<float>(config_.shift);
  const float shift_minus_one = static_cast<float>(config_.shift - 1.0);
  sigmas_.clear();
  timesteps_.clear();
  for (double value : given) {
    RAYVID_CHECK(value > 0 && value <= 1, BadArgument, "euler: sigma {} is not within (0, 1]",
                 value);
    const float s = static_cast<float>(value);
    const float sigma = shift * s / (1.0f + shift_minus_one * s);
    sigmas_.push_back(sigma);
    timesteps_.push_back(
        static_cast<double>(sigma * static_cast<float>(config_.num_train_timesteps)));
  }
  sigmas_.push_back(0.0f);
  step_index_ = 0;
}

at::Tensor FlowMatchEulerScheduler::step(const at::Tensor& model_output, const at::Tensor& sample) {
  RAYVID_CHECK(step_index_ < static_cast<int>(timesteps_.size()), Internal,
               "euler: step {} past the end of a {}-step schedule", step_index_, timesteps_.size());
  const float dt = sigmas_[step_index_ + 1] - sigmas_[step_index_];
  ++step_index_;
  // dt * v in v's dtype as diffusers (a bf16 v gives a bf16 product); the sum stays fp32, where
  // diffusers casts the new latents back to v's dtype.
  return sample.to(at::kFloat) + dt * model_output;  // [B, C, T, H, W] fp32
}

}  // namespace rayvid::sampling
