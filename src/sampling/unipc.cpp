// UniPC in flow form. Mirrors diffusers' scheduling_unipc_multistep.py step for step: the same
// sigma schedule (float32), the same integer timesteps, the same B(h) coefficients. Scalar
// coefficients are computed in double (diffusers: float32 scalars), which moves results by
// about 1e-7 relative.
#include "sampling/unipc.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace rayvid::sampling {

std::vector<double> solve_small(std::vector<std::vector<double>> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t col = 0; col < n; ++col) {
    size_t pivot = col;
    for (size_t r = col + 1; r < n; ++r)
      if (std::abs(a[r][col]) > std::abs(a[pivot][col])) pivot = r;
    std::swap(a[col], a[pivot]);
    std::swap(b[col], b[pivot]);
    RAYVID_CHECK(a[col][col] != 0, Internal, "UniPC: singular coefficient system");
    for (size_t r = col + 1; r < n; ++r) {
      const double f = a[r][col] / a[col][col];
      for (size_t c = col; c < n; ++c) a[r][c] -= f * a[col][c];
      b[r] -= f * b[col];
    }
  }
  std::vector<double> x(n);
  for (size_t i = n; i-- > 0;) {
    double s = b[i];
    for (size_t c = i + 1; c < n; ++c) s -= a[i][c] * x[c];
    x[i] = s / a[i][i];
  }
  return x;
}

namespace {

// The UniPC B(h) coefficient system for `order`: rows R[i] = rks^i, b[i] from the phi
// recurrence. Returns (R, b, h_phi_1, B_h).
struct Coefficients {
  std::vector<std::vector<double>> R;
  std::vector<double> b;
  double h_phi_1;
  double B_h;
};

Coefficients coefficients(const std::vector<double>& rks, double h, int order, bool bh2) {
  Coefficients c;
  const double hh = -h;  // predict_x0
  c.h_phi_1 = std::expm1(hh);
  c.B_h = bh2 ? std::expm1(hh) : hh;
  double h_phi_k = c.h_phi_1 / hh - 1;
  double factorial_i = 1;
  for (int i = 1; i <= order; ++i) {
    std::vector<double> row;
    for (double rk : rks) row.push_back(std::pow(rk, i - 1));
    c.R.push_back(row);
    c.b.push_back(h_phi_k * factorial_i / c.B_h);
    factorial_i *= i + 1;
    h_phi_k = h_phi_k / hh - 1 / factorial_i;
  }
  return c;
}

}  // namespace

void UniPCScheduler::set_timesteps(int num_steps) {
  RAYVID_CHECK(num_steps >= 1, BadArgument, "--steps {} must be at least 1", num_steps);
  const double n_train = config_.num_train_timesteps;
  // np.linspace(1, 1/n_train, num_steps + 1)[:-1], shifted, first value nudged below 1 so that
  // log(1 - sigma) stays finite.
  const double start = 1.0, stop = 1.0 / n_train, delta = (stop - start) / num_steps;
  std::vector<double> sigmas;
  for (int i = 0; i < num_steps; ++i)
    sigmas.push_back(shift_sigma(i * delta + start, config_.shift));
  if (std::fabs(sigmas[0] - 1) < 1e-6) sigmas[0] -= 1e-6;

  timesteps_.clear();
  sigmas_.clear();
  for (double s : sigmas) {
    timesteps_.push_back(static_cast<double>(static_cast<int64_t>(s * n_train)));  // astype(int64)
    sigmas_.push_back(static_cast<float>(s));
  }
  sigmas_.push_back(config_.final_sigmas_type == "zero" ? 0.0f : sigmas_.back());
  x0_history_.clear();
  last_sample_ = at::Tensor();
  lower_order_nums_ = 0;
  this_order_ = 1;
  step_index_ = 0;
}

double UniPCScheduler::lambda(int sigma_index) const {
  const double sigma = sigmas_.at(sigma_index);
  return std::log(1.0 - sigma) - std::log(sigma);  // alpha = 1 - sigma in flow form
}

at::Tensor UniPCScheduler::predict(const at::Tensor& x, int order) const {
  const int i = step_index_;
  const at::Tensor& m0 = x0_history_.back();
  const double sigma_t = sigmas_[i + 1], sigma_s0 = sigmas_[i];
  const double alpha_t = 1.0 - sigma_t;
  const double lambda_s0 = lambda(i);
  const double h = (sigma_t == 0 ? INFINITY : lambda(i + 1)) - lambda_s0;

  std::vector<double> rks;
  std::vector<at::Tensor> D1s;
  for (int k = 1; k < order; ++k) {
    const double rk = (lambda(i - k) - lambda_s0) / h;
    rks.push_back(rk);
    D1s.push_back((x0_history_[x0_history_.size() - 1 - k] - m0) / rk);  // [B, C, T, H, W]
  }
  rks.push_back(1.0);
  const Coefficients c = coefficients(rks, h, order, config_.solver_type == "bh2");

  at::Tensor x_t = (sigma_t / sigma_s0) * x - (alpha_t * c.h_phi_1) * m0;  // [B, C, T, H, W]
  if (!D1s.empty()) {
    std::vector<double> rhos;
    if (order == 2) {
      rhos = {0.5};  // diffusers' simplified order-2 predictor
    } else {
      std::vector<std::vector<double>> R(order - 1);
      for (int r = 0; r < order - 1; ++r)
        R[r] = std::vector<double>(c.R[r].begin(), c.R[r].end() - 1);
      rhos = solve_small(R, std::vector<double>(c.b.begin(), c.b.end() - 1));
    }
    at::Tensor pred_res = at::zeros_like(x);
    for (size_t k = 0; k < D1s.size(); ++k) pred_res += rhos[k] * D1s[k];
    x_t = x_t - (alpha_t * c.B_h) * pred_res;
  }
  return x_t;
}

at::Tensor UniPCScheduler::correct(const at::Tensor& this_x0, const at::Tensor& last_sample,
                                   const at::Tensor& this_sample, int order) const {
  (void)this_sample;
  const int i = step_index_;
  const at::Tensor& m0 = x0_history_.back();
  const double sigma_t = sigmas_[i], sigma_s0 = sigmas_[i - 1];
  const double alpha_t = 1.0 - sigma_t;
  const double lambda_s0 = lambda(i - 1);
  const double h = lambda(i) - lambda_s0;

  std::vector<double> rks;
  std::vector<at::Tensor> D1s;
  for (int k = 1; k < order; ++k) {
    const double rk = (lambda(i - (k + 1)) - lambda_s0) / h;
    rks.push_back(rk);
    D1s.push_back((x0_history_[x0_history_.size() - 1 - k] - m0) / rk);
  }
  rks.push_back(1.0);
  const Coefficients c = coefficients(rks, h, order, config_.solver_type == "bh2");
  const std::vector<double> rhos = order == 1 ? std::vector<double>{0.5} : solve_small(c.R, c.b);

  at::Tensor x_t = (sigma_t / sigma_s0) * last_sample - (alpha_t * c.h_phi_1) * m0;
  at::Tensor corr_res = at::zeros_like(last_sample);
  for (size_t k = 0; k < D1s.size(); ++k) corr_res += rhos[k] * D1s[k];
  const at::Tensor D1_t = this_x0 - m0;
  return x_t - (alpha_t * c.B_h) * (corr_res + rhos.back() * D1_t);
}

at::Tensor UniPCScheduler::step(const at::Tensor& model_output, const at::Tensor& sample_in) {
  const int n = static_cast<int>(timesteps_.size());
  RAYVID_CHECK(step_index_ < n, Internal, "unipc: step {} past the end of a {}-step schedule",
               step_index_, n);
  at::Tensor sample = sample_in.to(at::kFloat);
  // Flow prediction -> x0: x0 = x - sigma * v, with sigma as a float32 scalar like diffusers; a
  // scalar does not promote v, so a bf16 v gives a bf16 product (diffusers' 0-dim sigma tensor
  // does the same) before the fp32 subtraction.
  const at::Tensor x0 = sample - sigmas_[step_index_] * model_output;

  const bool corrector_disabled =
      std::find(config_.disable_corrector.begin(), config_.disable_corrector.end(),
                step_index_ - 1) != config_.disable_corrector.end();
  if (step_index_ > 0 && !corrector_disabled && last_sample_.defined())
    sample = correct(x0, last_sample_, sample, this_order_);

  x0_history_.push_back(x0);
  if (static_cast<int>(x0_history_.size()) > config_.solver_order) x0_history_.pop_front();

  int order = config_.lower_order_final ? std::min(config_.solver_order, n - step_index_)
                                        : config_.solver_order;
  this_order_ = std::min(order, lower_order_nums_ + 1);  // warm-up of the multistep history
  last_sample_ = sample;
  at::Tensor next = predict(sample, this_order_);
  if (lower_order_nums_ < config_.solver_order) ++lower_order_nums_;
  ++step_index_;
  return next;
}

}  // namespace rayvid::sampling
