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

// Pair j = (2j, 2j + 1) of token l's head_dim is rotated by the angle whose cos and sin are
// cos[l, j] and sin[l, j]: the table ops::make_rope3d_table builds once per latent grid exactly as
// diffusers' WanRotaryPosEmbed does (fp64 angles, rounded to fp32). The rotation runs in fp32, each
// product rounded on its own, and the result is rounded once to dtype (apply_rotary_emb).
struct Rope3DParams {
  Rope3DTensor tensors[2];  // q and k
  int num_tensors = 2;      // 1 or 2
  int batch = 0;
  int len = 0;  // tokens; the table has len rows
  int heads = 0;
  int head_dim = 0;            // a multiple of 8, at most 256
  const float* cos = nullptr;  // [len, head_dim / 2] fp32, contiguous, 16-byte aligned
  const float* sin = nullptr;  // [len, head_dim / 2] fp32, contiguous, 16-byte aligned
  DType dtype = DType::kBFloat16;
};

}  // namespace rayvid::kernels

namespace rayvid::kernels::RAYVID_KERNEL_BACKEND {
LaunchError rope3d_forward(const Rope3DParams& params, Stream stream);
}  // namespace rayvid::kernels::RAYVID_KERNEL_BACKEND
