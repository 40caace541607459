// Scheduler config parsing and the sampler registry.
#include "sampling/scheduler.h"

#include <fmt/format.h>

#include <fmt/ranges.h>
#include <cmath>

#include "core/check.h"
#include "sampling/dpm_solver.h"
#include "sampling/flow_match_euler.h"
#include "sampling/unipc.h"

namespace rayvid::sampling {

SchedulerConfig SchedulerConfig::from_json(const io::JsonFile& file) {
  SchedulerConfig c;
  c.class_name = file.get_or<std::string>("_class_name", c.class_name);
  c.num_train_timesteps = file.get_or<int>("num_train_timesteps", c.num_train_timesteps);
  // UniPC and DPM++ call it flow_shift; FlowMatchEuler calls it shift.
  c.shift = file.has("flow_shift") ? file.require<double>("flow_shift")
                                   : file.get_or<double>("shift", c.shift);
  c.solver_order = file.get_or<int>("solver_order", c.solver_order);
  c.solver_type = file.get_or<std::string>("solver_type", c.solver_type);
  c.lower_order_final = file.get_or<bool>("lower_order_final", c.lower_order_final);
  c.disable_corrector = file.get_or<std::vector<int>>("disable_corrector", {});
  c.final_sigmas_type = file.get_or<std::string>("final_sigmas_type", c.final_sigmas_type);
  if (c.class_name == "UniPCMultistepScheduler" || c.class_name == "DPMSolverMultistepScheduler") {
    RAYVID_CHECK(file.get_or<bool>("use_flow_sigmas", false), Unsupported,
                 "{}: {} without use_flow_sigmas is not a flow-matching schedule; Wan folders set "
                 "use_flow_sigmas=true",
                 file.label(), c.class_name);
    RAYVID_CHECK(
        file.get_or<std::string>("prediction_type", "flow_prediction") == "flow_prediction",
        Unsupported, "{}: rayvid's samplers expect prediction_type flow_prediction", file.label());
  }
  // Options that would change diffusers' schedule and that rayvid does not implement: refused,
  // never ignored.
  for (const char* flag : {"thresholding", "use_karras_sigmas", "use_exponential_sigmas",
                           "use_beta_sigmas", "rescale_betas_zero_snr"}) {
    RAYVID_CHECK(!file.get_or<bool>(flag, false), Unsupported,
                 "{}: {} = true is not supported (Wan folders set it false)", file.label(), flag);
  }
  RAYVID_CHECK(!file.has("shift_terminal"), Unsupported,
               "{}: shift_terminal is not supported (Wan folders set it null)", file.label());
  RAYVID_CHECK(!file.get_or<bool>("use_dynamic_shifting", false), Unsupported,
               "{}: use_dynamic_shifting is not used by Wan models and not supported",
               file.label());
  c.validate(file.label());
  return c;
}

void SchedulerConfig::validate(const std::string& where) const {
  RAYVID_CHECK(num_train_timesteps >= 2 && num_train_timesteps <= 100000, BadInput,
               "{}: num_train_timesteps {} must be within 2..100000 (Wan: 1000)", where,
               num_train_timesteps);
  RAYVID_CHECK(std::isfinite(shift) && shift > 0 && shift <= kMaxShift, BadInput,
               "{}: flow_shift {} must be within 0 < shift <= {} (Wan: 3-12)", where, shift,
               kMaxShift);
  RAYVID_CHECK(solver_order >= 1 && solver_order <= 3, BadInput,
               "{}: solver_order {} must be 1, 2 or 3", where, solver_order);
  RAYVID_CHECK(solver_type == "bh1" || solver_type == "bh2", BadInput,
               "{}: solver_type '{}' must be bh1 or bh2", where, solver_type);
  RAYVID_CHECK(final_sigmas_type == "zero" || final_sigmas_type == "sigma_min", BadInput,
               "{}: final_sigmas_type '{}' must be zero or sigma_min", where, final_sigmas_type);
  for (int step : disable_corrector)
    RAYVID_CHECK(step >= 0 && step <= 100000, BadInput,
                 "{}: disable_corrector entry {} must be a step index (0 or more)", where, step);
}

std::vector<std::string> sampler_names() { return {"unipc", "euler", "dpm++"}; }

void Scheduler::set_sigmas(const std::vector<double>&) {
  fail(ErrorCategory::kUnsupported,
       "the {} sampler takes a step count, not a given schedule; use --sampler euler", name());
}

std::unique_ptr<Scheduler> make_scheduler(const std::string& sampler, SchedulerConfig config,
                                          double shift) {
  if (shift > 0) config.shift = shift;
  config.validate();
  if (sampler == "unipc") return std::make_unique<UniPCScheduler>(config);
  if (sampler == "euler") return std::make_unique<FlowMatchEulerScheduler>(config);
  if (sampler == "dpm++") return std::make_unique<DPMSolverScheduler>(config);
  fail(ErrorCategory::kBadArgument, "unknown sampler '{}'; choose one of {}", sampler,
       fmt::join(sampler_names(), ", "));
}

}  // namespace rayvid::sampling
