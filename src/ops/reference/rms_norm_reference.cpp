// Reference RMSNorm: see rms_norm_reference.h.
#include "ops/reference/rms_norm_reference.h"

#include <ATen/ATen.h>

namespace rayvid::ops {

at::Tensor rms_norm_reference(const at::Tensor& x, const at::Tensor& weight, double eps) {
  const at::Tensor x32 = x.to(at::kFloat);                                      // [..., C]
  const at::Tensor inv_rms = at::rsqrt(x32.square().mean(-1, true).add_(eps));  // [..., 1]
  return (x32 * inv_rms * weight.to(at::kFloat)).to(x.scalar_type());           // [..., C]
}

}  // namespace rayvid::ops
