// Reference AdaLN modulation and gated residual: see modulation_reference.h.
#include "ops/reference/modulation_reference.h"

#include <ATen/ATen.h>

namespace rayvid::ops {
namespace {

// [B, L, C] -> [B, G, L / G, C] (a view), and [B, G, C] -> [B, G, 1, C].
at::Tensor by_group(const at::Tensor& x, int64_t groups) {
  return x.view({x.size(0), groups, x.size(1) / groups, x.size(2)});
}
at::Tensor per_group(const at::Tensor& rows) { return rows.unsqueeze(2); }

}  // namespace

at::Tensor layer_norm_modulate_reference(const at::Tensor& x, const at::Tensor& shift,
                                         const at::Tensor& scale, double eps) {
  const at::Tensor normed = at::layer_norm(x.to(at::kFloat), {x.size(-1)}, {}, {}, eps);  // fp32
  const at::Tensor y = by_group(normed, shift.size(1)) * (1 + per_group(scale)) + per_group(shift);
  return y.view(x.sizes()).to(x.scalar_type());  // [B, L, C]
}

at::Tensor gated_residual_reference(const at::Tensor& x, const at::Tensor& y,
                                    const at::Tensor& gate) {
  const int64_t groups = gate.size(1);
  const at::Tensor sum = by_group(x.to(at::kFloat), groups) + by_group(y, groups) * per_group(gate);
  return sum.view(x.sizes()).to(x.scalar_type());  // [B, L, C]
}

}  // namespace rayvid::ops
