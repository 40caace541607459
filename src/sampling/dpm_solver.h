// DPM-Solver++ 2M (multistep, midpoint) in flow form, as diffusers' DPMSolverMultistepScheduler
// runs with use_flow_sigmas and flow_prediction. The original Wan scripts offer it as `dpm++`.
// Orders 1 and 2 (solver_order 3 configs run as order 2).
#pragma once

#include "sampling/scheduler.h"

namespace rayvid::sampling {

class DPMSolverScheduler : public Scheduler {
 public:
  explicit DPMSolverScheduler(SchedulerConfig config) : config_(std::move(config)) {}
  std::string name() const override { return "dpm++"; }
  void set_timesteps(int num_steps) override;
  at::Tensor step(const at::Tensor& model_output, const at::Tensor& sample) override;

 private:
  SchedulerConfig config_;
  at::Tensor previous_x0_;  // m1: the converted model output of the previous step
  int lower_order_nums_ = 0;
};

}  // namespace rayvid::sampling
