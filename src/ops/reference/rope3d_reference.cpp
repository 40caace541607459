// Reference RoPE rotation: see rope3d_reference.h.
#include "ops/reference/rope3d_reference.h"

#include <ATen/ATen.h>

namespace rayvid::ops {

at::Tensor rope3d_reference(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t length = x.size(1), pairs = x.size(3) / 2;
  const at::Tensor pairs_of_x = x.unflatten(-1, {pairs, 2});        // [B, L, heads, D/2, 2]
  const at::Tensor even = pairs_of_x.select(-1, 0).to(at::kFloat);  // [B, L, heads, D/2]
  const at::Tensor odd = pairs_of_x.select(-1, 1).to(at::kFloat);   // [B, L, heads, D/2]
  const at::Tensor c = cos.view({1, length, 1, pairs});             // [1, L, 1, D/2]
  const at::Tensor s = sin.view({1, length, 1, pairs});             // [1, L, 1, D/2]
  const at::Tensor out_even = even * c - odd * s;                   // [B, L, heads, D/2]
  const at::Tensor out_odd = even * s + odd * c;                    // [B, L, heads, D/2]
  return at::stack({out_even, out_odd}, -1).flatten(-2).to(x.scalar_type());  // [B, L, heads, D]
}

}  // namespace rayvid::ops
