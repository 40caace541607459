// Classifier-free guidance.
#include "sampling/guidance.h"

#include <ATen/ATen.h>

#include "core/check.h"

namespace rayvid::sampling {

at::Tensor apply_guidance(const at::Tensor& batched, double scale) {
  RAYVID_CHECK(batched.size(0) % 2 == 0, Internal, "guidance needs [cond; uncond], got batch {}",
               batched.size(0));
  // Two narrows rather than chunk(): the same views, and ops that return a list of views have no
  // lazy-tensor implementation (the placement tests' device), where chunk quietly yields CPU
  // tensors.
  const int64_t half = batched.size(0) / 2;
  const at::Tensor cond = batched.narrow(0, 0, half);       // [B, C, T, H, W]
  const at::Tensor uncond = batched.narrow(0, half, half);  // [B, C, T, H, W]
  // diffusers: noise_uncond + guidance_scale * (noise_pred - noise_uncond), in the dtype the
  // transformer returned (bf16: each of the three ops rounds to bf16, as there).
  return uncond + scale * (cond - uncond);
}

}  // namespace rayvid::sampling
