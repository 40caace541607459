// Classifier-free guidance: uncond + scale * (cond - uncond), in float32.
#pragma once

#include <ATen/core/Tensor.h>

namespace rayvid::sampling {

// `batched` holds [cond; uncond] stacked on dim 0 (one DiT forward for both).
at::Tensor apply_guidance(const at::Tensor& batched, double scale);

}  // namespace rayvid::sampling
