// The executable specification of ops::rms_norm: every step spelled out in fp32.
#pragma once

#include <ATen/core/Tensor.h>

namespace rayvid::ops {

at::Tensor rms_norm_reference(const at::Tensor& x, const at::Tensor& weight, double eps);

}  // namespace rayvid::ops
