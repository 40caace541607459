// DPM-Solver++ 2M in flow form, following diffusers' scheduling_dpmsolver_multistep.py.
#include "sampling/dpm_solver.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace rayvid::sampling {
namespace {

double lambda_of(double sigma) { return std::log(1.0 - sigma) - std::log(sigma); }

}  // namespace

void DPMSolverScheduler::set_timesteps(int num_steps) {
  RAYVID_CHECK(num_steps >= 1, BadArgument, "--steps {} must be at least 1", num_steps);
  const double n_train = config_.num_train_timesteps;
  // alphas = linspace(1, 1/n, N+1); sigmas = flip(shift(1 - alphas))[:-1]
  const double delta = (1.0 / n_train - 1.0) / num_steps;
  std::vector<double> sigmas;
  for (int i = num_steps; i >= 1; --i) {
    const double alpha = (i == num_steps) ? 1.0 / n_train : i * delta + 1.0;
    sigmas.push_back(shift_sigma(1.0 - alpha, config_.shift));
  }
  timesteps_.clear();
  sigmas_.clear();
  for (double s : sigmas) {
    timesteps_.push_back(static_cast<double>(static_cast<int64_t>(s * n_train)));
    sigmas_.push_back(static_cast<float>(s));
  }
  sigmas_.push_back(config_.final_sigmas_type == "zero" ? 0.0f : sigmas_.back());
  previous_x0_ = at::Tensor();
  lower_order_nums_ = 0;
  step_index_ = 0;
}

at::Tensor DPMSolverScheduler::step(const at::Tensor& model_output, const at::Tensor& sample_in) {
  const int n = static_cast<int>(timesteps_.size());
  RAYVID_CHECK(step_index_ < n, Internal, "dpm++: step {} past the end of a {}-step schedule",
               step_index_, n);
  const at::Tensor sample = sample_in.to(at::kFloat);
  const at::Tensor m0 = sample - sigmas_[step_index_] * model_output;  // x0 (as unipc.cpp)

  // diffusers: first order on the very first step, and on the last one when the schedule ends
  // at zero noise (or is short); otherwise second order.
  const bool last = step_index_ == n - 1;
  const bool lower_order_final =
      last && (config_.final_sigmas_type == "zero" || (config_.lower_order_final && n < 15));
  const bool first_order = config_.solver_order == 1 || lower_order_nums_ < 1 || lower_order_final;

  const double sigma_t = sigmas_[step_index_ + 1], sigma_s0 = sigmas_[step_index_];
  const double alpha_t = 1.0 - sigma_t;
  const double lambda_t = sigma_t == 0 ? INFINITY : lambda_of(sigma_t);
  const double h = lambda_t - lambda_of(sigma_s0);
  const double phi = std::exp(-h) - 1.0;

  at::Tensor next = (sigma_t / sigma_s0) * sample - (alpha_t * phi) * m0;  // [B, C, T, H, W]
  if (!first_order) {
    const double h_0 = lambda_of(sigma_s0) - lambda_of(sigmas_[step_index_ - 1]);
    const double r0 = h_0 / h;
    const at::Tensor D1 = (1.0 / r0) * (m0 - previous_x0_);
    next = next - 0.5 * (alpha_t * phi) * D1;  // midpoint
  }
  previous_x0_ = m0;
  if (lower_order_nums_ < config_.solver_order) ++lower_order_nums_;
  ++step_index_;
  return next;
}

}  // namespace rayvid::sampling
