// Sampling recipes: steps, schedule, sampler and guidance that belong together, chosen by one name
// (`--recipe`). A recipe is what a distilled model or LoRA was trained to run; changing one part of
// it on its own gives blur, so a request that contradicts it is refused (engine/request_plan.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rayvid::pipeline {

struct SamplingRecipe {
  std::string name;
  int steps = 0;
  std::string sampler;         // as --sampler names it
  double shift = 0;            // timestep shift of the schedule
  double guidance_scale = 1;   // <= 1: no guidance (one forward per step)
  std::vector<double> sigmas;  // unshifted noise levels, one per step (diffusers'
                               // set_timesteps(sigmas=...)); the scheduler shifts them
  std::string description;
};

// distill-4step: the step-distill LoRAs' recipe (lightx2v Wan2.1/Wan2.2 4-step, Wan2.2-Lightning):
// denoising_step_list [1000, 750, 500, 250] read on the shift-5 schedule (sigmas 1, 0.9375,
// 0.8333, 0.625, then 0), an Euler flow step, guidance off; on Wan2.2 A14B the boundary puts two
// steps on each expert. (LightX2V's Wan2.2 scheduler is exactly this Euler step; its Wan2.1 one
// re-noises with fresh noise between steps instead, which rayvid does not do.)
const SamplingRecipe* find_recipe(std::string_view name);
std::vector<std::string> recipe_names();

}  // namespace rayvid::pipeline
