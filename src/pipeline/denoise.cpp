// The denoising loop; mirrors the loop of diffusers' WanPipeline / WanImageToVideoPipeline.
#include "pipeline/denoise.h"

#include <ATen/ATen.h>

#include "core/check.h"
#include "sampling/guidance.h"

namespace rayvid::pipeline {

at::Tensor denoise(const DenoiseSetup& s, sampling::Scheduler& scheduler,
                   const StepCallback& on_step) {
  RAYVID_CHECK(s.high_noise != nullptr, Internal, "denoise: no model");
  RAYVID_CHECK(s.boundary_timestep < 0 || s.low_noise != nullptr, Internal,
               "denoise: a boundary without a low-noise expert");
  RAYVID_CHECK(s.step_cache == nullptr || s.low_noise == nullptr, Internal,
               "denoise: step caching of two-expert models");
  RAYVID_CHECK(s.guided_steps < 0 || s.step_cache == nullptr, Internal,
               "denoise: dropping guidance mid-run with a step cache");
  at::Tensor latents = s.noise.to(at::kFloat);  // [1, z, T, h, w]

  // TI2V: mask is 0 on latent frame 0 (the clean image latent) and 1 elsewhere.
  at::Tensor mask;  // [1, 1, T, h, w]
  if (s.conditioning == Conditioning::kFirstFrame) {
    mask = at::ones({1, 1, latents.size(2), latents.size(3), latents.size(4)}, latents.options());
    mask.select(2, 0).zero_();
  }

  const auto& timesteps = scheduler.timesteps();
  for (size_t i = 0; i < timesteps.size(); ++i) {
    const double t = timesteps[i];
    const bool high = s.boundary_timestep < 0 || t >= s.boundary_timestep;
    Denoiser* model = high ? s.high_noise : s.low_noise;
    const double scale = high ? s.guidance_scale : s.guidance_scale_2;
    // Guidance for the first guided_steps steps (all by default), the cond branch alone after.
    const bool guided =
        s.guidance_scale > 1 && (s.guided_steps < 0 || static_cast<int>(i) < s.guided_steps);
    const int64_t batch = guided ? 2 : 1;

    at::Tensor model_input;  // [1, C_in, T, h, w]
    at::Tensor timestep;     // [B] or [B, L]
    switch (s.conditioning) {
      case Conditioning::kNone:
        model_input = latents;
        timestep = at::full({batch}, t, latents.options());
        break;
      case Conditioning::kConcat:
        model_input = at::cat({latents, s.condition}, 1);
        timestep = at::full({batch}, t, latents.options());
        break;
      case Conditioning::kFirstFrame: {
        model_input = (1 - mask) * s.condition + mask * latents;
        // One timestep per token: 0 on frame 0, t elsewhere, in token order (T, h/2, w/2).
        using at::indexing::Slice;
        const at::Tensor per_token =
            (mask.index({0, 0, Slice(), Slice(0, at::indexing::None, s.patch_h),
                         Slice(0, at::indexing::None, s.patch_w)}) *
             t)
                .flatten();                                                    // [L]
        timestep = per_token.unsqueeze(0).expand({batch, per_token.size(0)});  // [B, L]
        break;
      }
    }
    const at::Tensor batched_input =
        guided ? model_input.expand({2, -1, -1, -1, -1}) : model_input;  // [B, C_in, T, h, w]
    // In the transformer's dtype, as diffusers: guidance and the scheduler's first product round
    // as they do there.
    at::Tensor prediction;
    if (s.step_cache && s.step_cache->decides_inside_forward()) {  // FirstBlockCache
      prediction =
          model->forward_cached(batched_input, timestep, Denoiser::BlockCaching::kFirstBlock,
                                s.step_cache->settings().threshold);
      s.step_cache->record(static_cast<int>(i), t, model->first_block_rows_ran());
    } else if (s.step_cache) {
      const bool run = s.step_cache->compute(static_cast<int>(i), t, *model);
      prediction = model->forward_cached(
          batched_input, timestep,
          run ? Denoiser::BlockCaching::kStore : Denoiser::BlockCaching::kReuse);
    } else {
      prediction = model->forward(batched_input, timestep);
    }
    if (guided) prediction = sampling::apply_guidance(prediction, scale);  // [1, C, T, h, w]
    latents = scheduler.step(prediction, latents);
    if (on_step) on_step(static_cast<int>(i), t, latents, prediction);
  }
  if (s.conditioning == Conditioning::kFirstFrame)
    latents = (1 - mask) * s.condition + mask * latents;
  return latents;
}

}  // namespace rayvid::pipeline
