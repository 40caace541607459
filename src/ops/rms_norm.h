// RMSNorm over the last dimension: y = x · rsqrt(mean(x²) + eps) · weight, computed in fp32 and
// rounded once to x's dtype (torch.nn.RMSNorm's numerics for fp32 and bf16 inputs). The Wan DiT
// applies it to q and k across all heads at once (last dim = heads·head_dim).
#pragma once

#include <ATen/core/Tensor.h>

namespace rayvid::ops {

// x: [..., C]; weight: [C] (any floating dtype). Returns x's shape and dtype.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

}  // namespace rayvid::ops
