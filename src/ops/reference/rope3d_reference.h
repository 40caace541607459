// The executable specification of ops::rope3d: the pair rotation spelled out in fp32.
#pragma once

#include <ATen/core/Tensor.h>

namespace rayvid::ops {

// x: [B, L, heads, D]; cos, sin: [L, D / 2] fp32. Returns x rotated pairwise, in x's dtype.
at::Tensor rope3d_reference(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace rayvid::ops
