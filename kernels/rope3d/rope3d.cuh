// 3D rotary position embedding of the Wan DiT, applied to q and k in one launch. Kernel and
// notes in rope3d.cu; this header is the host-visible Params struct and launcher.
#pragma once

#include "common/kernel_api.h"

namespace rayvid::kernels {

// One [batch, len, heads, head_dim] tensor to rotate: in and out may be the same (in place).
struct Rope3DTensor {
  const void* in = nullptr;
  void* out = nullptr;
  int64_t in_batch_stride = 0, in_row_stride = 0, in_head_stride = 0;
  int64_t out_batch_stride = 0, out_row_stride = 0, out_head_stride = 0;
};

// Token l of the sequence sits at grid position (f, h, w) = (l / (grid_h * grid_w),
// (l / grid_w) % grid_h, l % grid_w), len = grid_f * grid_h * grid_w. Pair j = (2j, 2j + 1) of
// head_dim rotates by angle pos_axis * theta^(-2i / axis_dim), with head_dim split into t/h/w
// parts of axis_dim = d - 4 * (d / 6), 2 * (d / 6), 2 * (d / 6) pairs-wise in that order (i is the
// pair index within its part), exactly as diffusers' WanRotaryPosEmbed (fp64 angles, cos/sin
// rounded to fp32, the rotation in fp32, the result rounded to dtype).
struct Rope3DParams {
  Rope3DTensor tensors[2];  // q and k
  int num_tensors = 2;      // 1 or 2
  int batch = 0;
  int grid_f = 0, grid_h = 0, grid_w = 0;  // patch grid; len = grid_f * grid_h * grid_w
  int heads = 0;
  int head_dim = 0;  // even, a multiple of 8, at most 256
  double theta = 10000.0;
  DType dtype = DType::kBFloat16;
};

}  // namespace rayvid::kernels

namespace rayvid::kernels::RAYVID_KERNEL_BACKEND {
LaunchError rope3d_forward(const Rope3DParams& params, Stream stream);
}  // namespace rayvid::kernels::RAYVID_KERNEL_BACKEND
