// The denoising loop shared by every Wan pipeline: expert choice by timestep boundary, one batched
// forward for conditional and unconditional, classifier-free guidance, the scheduler step, and
// the two image conditionings (Wan2.1 I2V channel concat, Wan2.2 TI2V first-frame replacement).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>

#include "pipeline/components.h"
#include "pipeline/step_cache.h"
#include "sampling/scheduler.h"

namespace rayvid::pipeline {

enum class Conditioning {
  kNone,        // text-to-video
  kConcat,      // Wan2.1 / A14B I2V: model input = cat(latents, [mask(4) ; image latent(z)])
  kFirstFrame,  // Wan2.2 TI2V with an image: latent frame 0 replaced by the clean image latent,
                // whose tokens see timestep 0
};

struct DenoiseSetup {
  at::Tensor noise;  // [1, z, T, h, w] float32: the initial latents
  Conditioning conditioning = Conditioning::kNone;
  at::Tensor condition;  // kConcat: [1, 4 + z, T, h, w]; kFirstFrame: [1, z, T', h, w] normalised
  Denoiser* high_noise = nullptr;   // the only expert of one-expert models
  Denoiser* low_noise = nullptr;    // two-expert models: used for t < boundary_timestep
  double boundary_timestep = -1;    // boundary_ratio * num_train_timesteps, or < 0
  double guidance_scale = 1;        // > 1 enables guidance (for both experts, as diffusers)
  double guidance_scale_2 = 1;      // the low-noise expert's scale
  int patch_h = 2, patch_w = 2;     // the DiT's spatial patch, for per-token timesteps
  StepCache* step_cache = nullptr;  // decides per step whether the blocks run (one-expert models)
  int guided_steps = -1;  // with guidance: only the first guided_steps steps use it (-1: all);
                          // the rest run the conditional branch alone (batch 1)
};

// Called after every step with the step index, its timestep, the new latents and the model's
// (guided) prediction; used for progress and for --dump-latents.
using StepCallback = std::function<void(int step, double timestep, const at::Tensor& latents,
                                        const at::Tensor& prediction)>;

// Runs the full schedule (the scheduler must have set_timesteps done) and returns the final
// latents [1, z, T, h, w], with the TI2V first frame already put back. The denoisers' contexts
// must be set: batch 2 ([cond; uncond]) when guidance_scale > 1, else batch 1.
at::Tensor denoise(const DenoiseSetup& setup, sampling::Scheduler& scheduler,
                   const StepCallback& on_step = {});

}  // namespace rayvid::pipeline
