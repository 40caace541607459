// RMSNorm: input validation and dispatch (see rms_norm.h).
#include "ops/rms_norm.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include "core/check.h"
#include "ops/reference/rms_norm_reference.h"

namespace rayvid::ops {

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  RAYVID_CHECK(x.dim() >= 1 && weight.dim() == 1 && weight.size(0) == x.size(-1), Internal,
               "rms_norm: weight [{}] does not match the last dimension of x [{}]",
               fmt::join(weight.sizes(), ", "), fmt::join(x.sizes(), ", "));
  RAYVID_CHECK(at::isFloatingType(x.scalar_type()), Internal,
               "rms_norm: x must be floating, got {}", c10::toString(x.scalar_type()));
  // LibTorch's fused rms_norm has the reference's numerics (fp32 statistics, weight applied in
  // fp32, one rounding) when weight and x share a dtype, in one pass instead of six.
  if (weight.scalar_type() == x.scalar_type()) return at::rms_norm(x, {x.size(-1)}, weight, eps);
  return rms_norm_reference(x, weight, eps);
}

}  // namespace rayvid::ops
