// 3D RoPE: the per-grid table and the dispatch of the rotation (see rope3d.h).
#include "ops/rope3d.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include "core/check.h"
#include "ops/norms_cuda.h"
#include "ops/reference/rope3d_reference.h"

namespace rayvid::ops {
namespace {
KernelPathLog g_paths("rope3d", "ATen");
}  // namespace

std::array<int64_t, 3> rope3d_axis_dims(int64_t head_dim) {
  const int64_t spatial = 2 * (head_dim / 6);
  return {head_dim - 2 * spatial, spatial, spatial};
}

Rope3DTable make_rope3d_table(int64_t head_dim, std::array<int64_t, 3> grid, double theta,
                              c10::Device device) {
  const auto axis_dims = rope3d_axis_dims(head_dim);
  RAYVID_CHECK(head_dim % 2 == 0 && axis_dims[1] > 0 && axis_dims[0] % 2 == 0, Internal,
               "rope3d: head_dim {} cannot be split into three even axis slices", head_dim);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  std::array<at::Tensor, 3> cos_axes, sin_axes;
  for (int axis = 0; axis < 3; ++axis) {
    const int64_t dims = axis_dims[axis];
    // θ^(−2j/dims) exactly as diffusers' get_1d_rotary_pos_embed computes it (float64).
    const at::Tensor freqs = 1.0 / at::pow(theta, at::arange(0, dims, 2, f64) / dims);  // [dims/2]
    const at::Tensor angles = at::outer(at::arange(grid[axis], f64), freqs);  // [n_axis, dims/2]
    std::vector<int64_t> view_shape = {1, 1, 1, dims / 2};
    view_shape[axis] = grid[axis];
    const std::vector<int64_t> full = {grid[0], grid[1], grid[2], dims / 2};
    cos_axes[axis] = angles.cos().to(at::kFloat).view(view_shape).expand(full);  // [F,H,W,dims/2]
    sin_axes[axis] = angles.sin().to(at::kFloat).view(view_shape).expand(full);
  }
  const int64_t length = grid[0] * grid[1] * grid[2];
  Rope3DTable table;
  table.grid = grid;
  table.head_dim = head_dim;
  table.cos = at::cat({cos_axes[0], cos_axes[1], cos_axes[2]}, -1)
                  .reshape({length, head_dim / 2})
                  .to(device);  // [L, D/2]
  table.sin = at::cat({sin_axes[0], sin_axes[1], sin_axes[2]}, -1)
                  .reshape({length, head_dim / 2})
                  .to(device);  // [L, D/2]
  return table;
}

KernelPathCounts rope3d_path_counts() { return g_paths.counts(); }

RotatedQK rope3d(const at::Tensor& q, const at::Tensor& k, const Rope3DTable& table,
                 KernelBackend backend) {
  for (const at::Tensor* x : {&q, &k}) {
    RAYVID_CHECK(x->dim() == 4 && x->size(1) == table.cos.size(0) && x->size(3) == table.head_dim,
                 Internal, "rope3d: q/k [{}] does not match the table (L {}, head_dim {})",
                 fmt::join(x->sizes(), ", "), table.cos.size(0), table.head_dim);
    RAYVID_CHECK(x->device() == table.cos.device(), Internal,
                 "rope3d: q/k and the table are on different devices");
  }
  if (backend == KernelBackend::kRayvid || backend == KernelBackend::kEmu) {
    const bool emulated = backend == KernelBackend::kEmu;
    RotatedQK out;
    if (emulated ? rayvid_rope3d_emu(q, k, table.cos, table.sin, out.q, out.k)
                 : rayvid_rope3d_cuda(q, k, table.cos, table.sin, out.q, out.k)) {
      g_paths.took_kernel(emulated);
      return out;
    }
    g_paths.took_fallback(emulated);
  }
  return {rope3d_reference(q, table.cos, table.sin), rope3d_reference(k, table.cos, table.sin)};
}

}  // namespace rayvid::ops
