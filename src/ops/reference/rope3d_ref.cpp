// Plain ATen 3D RoPE (see rope3d_ref.h).
#include "ops/reference/rope3d_ref.h"

namespace rayvid::ops::kernel_ref {
namespace {

// cos/sin of positions [0, n) for one axis of `dim` channels: [n, dim] fp32, pairs repeated.
std::pair<at::Tensor, at::Tensor> axis_table(int64_t n, int64_t dim, double theta) {
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor exponents = at::arange(0, dim, 2, f64).narrow(0, 0, dim / 2) / dim;  // [dim/2]
  const at::Tensor inv_freq = 1.0 / at::pow(theta, exponents);                          // [dim/2]
  const at::Tensor angles = at::outer(at::arange(n, f64), inv_freq);  // [n, dim/2]
  return {angles.cos().repeat_interleave(2, 1).to(at::kFloat),        // [n, dim]
          angles.sin().repeat_interleave(2, 1).to(at::kFloat)};       // [n, dim]
}

}  // namespace

std::pair<at::Tensor, at::Tensor> rope3d_tables(int64_t grid_f, int64_t grid_h, int64_t grid_w,
                                                int64_t head_dim, double theta) {
  const int64_t h_dim = 2 * (head_dim / 6), w_dim = h_dim, t_dim = head_dim - h_dim - w_dim;
  auto [cos_f, sin_f] = axis_table(grid_f, t_dim, theta);  // [F, t_dim]
  auto [cos_h, sin_h] = axis_table(grid_h, h_dim, theta);  // [H, h_dim]
  auto [cos_w, sin_w] = axis_table(grid_w, w_dim, theta);  // [W, w_dim]
  auto grid = [&](const at::Tensor& f, const at::Tensor& h, const at::Tensor& w) {
    return at::cat({f.view({grid_f, 1, 1, -1}).expand({grid_f, grid_h, grid_w, t_dim}),
                    h.view({1, grid_h, 1, -1}).expand({grid_f, grid_h, grid_w, h_dim}),
                    w.view({1, 1, grid_w, -1}).expand({grid_f, grid_h, grid_w, w_dim})},
                   -1)
        .reshape({grid_f * grid_h * grid_w, head_dim});  // [L, head_dim]
  };
  return {grid(cos_f, cos_h, cos_w), grid(sin_f, sin_h, sin_w)};
}

at::Tensor rope3d_apply(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const std::vector<at::Tensor> pairs = x.unflatten(-1, {-1, 2}).unbind(-1);   // 2 x [B, L, H, D/2]
  const at::Tensor c = cos.slice(-1, 0, {}, 2).view({1, cos.size(0), 1, -1});  // [1, L, 1, D/2]
  const at::Tensor s = sin.slice(-1, 1, {}, 2).view({1, sin.size(0), 1, -1});  // [1, L, 1, D/2]
  const at::Tensor even = pairs[0] * c - pairs[1] * s;                // [B, L, H, D/2] fp32
  const at::Tensor odd = pairs[0] * s + pairs[1] * c;                 // [B, L, H, D/2] fp32
  return at::stack({even, odd}, -1).flatten(-2).to(x.scalar_type());  // [B, L, H, D]
}

}  // namespace rayvid::ops::kernel_ref
