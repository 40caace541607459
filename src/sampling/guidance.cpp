// Classifier-free guidance.
#include "sampling/guidance.h"

#include <ATen/ATen.h>

#include "core/check.h"

namespace rayvid::sampling {

at::Tensor apply_guidance(const at::Tensor& batched, double scale) {
  RAYVID_CHECK(batched.size(0) % 2 == 0, Internal, "guidance needs [cond; uncond], got batch {}",
               batched.size(0));
  const auto halves = batched.to(at::kFloat).chunk(2, 0);
  const at::Tensor& cond = halves[0];    // [B, C, T, H, W]
  const at::Tensor& uncond = halves[1];  // [B, C, T, H, W]
  // diffusers: noise_uncond + guidance_scale * (noise_pred - noise_uncond)
  return uncond + scale * (cond - uncond);
}

}  // namespace rayvid::sampling
