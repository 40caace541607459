// UniPC multistep (predictor UniP + corrector UniC, B(h) variants) in its flow-matching form, as
// diffusers' UniPCMultistepScheduler runs it for Wan: use_flow_sigmas, flow_prediction,
// predict_x0, bh2, solver order 2, lower_order_final.
#pragma once

#include <deque>

#include "sampling/scheduler.h"

namespace rayvid::sampling {

class UniPCScheduler : public Scheduler {
 public:
  explicit UniPCScheduler(SchedulerConfig config) : config_(std::move(config)) {}
  std::string name() const override { return "unipc"; }
  void set_timesteps(int num_steps) override;
  at::Tensor step(const at::Tensor& model_output, const at::Tensor& sample) override;

 private:
  // UniP: the predictor from x at step_index_ to the next noise level, of the given order.
  at::Tensor predict(const at::Tensor& x, int order) const;
  // UniC: corrects x_t (the last prediction) with the model output there.
  at::Tensor correct(const at::Tensor& this_x0, const at::Tensor& last_sample,
                     const at::Tensor& this_sample, int order) const;
  double lambda(int sigma_index) const;  // log(alpha) - log(sigma) at sigmas_[sigma_index]

  SchedulerConfig config_;
  std::deque<at::Tensor> x0_history_;  // converted model outputs, newest last
  at::Tensor last_sample_;
  int lower_order_nums_ = 0;
  int this_order_ = 1;
};

// Solves the small dense system A x = b (Gaussian elimination with partial pivoting).
std::vector<double> solve_small(std::vector<std::vector<double>> a, std::vector<double> b);

}  // namespace rayvid::sampling
