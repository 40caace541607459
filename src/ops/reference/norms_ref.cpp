// Plain ATen normalisation ops (see norms_ref.h).
#include "ops/reference/norms_ref.h"

namespace rayvid::ops::kernel_ref {

at::Tensor layer_norm_modulate(const at::Tensor& x, const at::Tensor& shift,
                               const at::Tensor& scale, double eps) {
  const at::Tensor normed = at::layer_norm(x.to(at::kFloat), {x.size(-1)}, {}, {}, eps);  // fp32
  return (normed * (1 + scale) + shift).to(x.scalar_type());  // [B, L, C]
}

at::Tensor gated_residual(const at::Tensor& x, const at::Tensor& y, const at::Tensor& gate) {
  return (x.to(at::kFloat) + y * gate).to(x.scalar_type());  // [B, L, C]
}

}  // namespace rayvid::ops::kernel_ref
