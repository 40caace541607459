// FlowMatchEulerDiscreteScheduler as diffusers has it: x_next = x + (sigma_next - sigma) * v.
#pragma once

#include "sampling/scheduler.h"

namespace rayvid::sampling {

class FlowMatchEulerScheduler : public Scheduler {
 public:
  explicit FlowMatchEulerScheduler(SchedulerConfig config) : config_(std::move(config)) {}
  std::string name() const override { return "euler"; }
  void set_timesteps(int num_steps) override;
  void set_sigmas(const std::vector<double>& sigmas) override;
  at::Tensor step(const at::Tensor& model_output, const at::Tensor& sample) override;

 private:
  SchedulerConfig config_;
};

}  // namespace rayvid::sampling
