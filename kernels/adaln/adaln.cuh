// The DiT block's modulation pieces: LayerNorm + AdaLN modulation, and the gated residual add.
// Kernels and notes in adaln.cu; this header is the host-visible Params structs and launchers.
#pragma once

#include "common/kernel_api.h"

namespace rayvid::kernels {

// Modulation comes in timestep groups: the group_len consecutive tokens of a group share one
// modulation row, token l using row g = l / group_len. Wan2.1 has one group per sample
// (group_len = len); Wan2.2 TI2V one per latent frame (its clean first frame at t = 0) or, when
// timesteps vary within a frame, one per token (group_len = 1).
//
// out[b, l, :] = T(LN(x[b, l, :]) * (1 + scale[b, g, :]) + shift[b, g, :]), LN without affine
// (fp32 mean and biased variance, eps inside the rsqrt) as diffusers' FP32LayerNorm on
// hidden_states.float(). shift and scale are fp32. dim is contiguous.
struct LayerNormModulateParams {
  const void* x = nullptr;       // [batch, len, dim], dtype
  const float* shift = nullptr;  // [batch, len / group_len, dim], fp32
  const float* scale = nullptr;  // [batch, len / group_len, dim], fp32
  void* out = nullptr;           // [batch, len, dim], dtype (may alias x)
  int64_t x_batch_stride = 0, x_row_stride = 0;
  int64_t mod_batch_stride = 0, mod_row_stride = 0;  // shared by shift and scale; row = group
  int64_t out_batch_stride = 0, out_row_stride = 0;
  int batch = 0;
  int len = 0;
  int group_len = 1;  // tokens per modulation row; divides len
  int dim = 0;        // a multiple of 8, at most 8192
  float eps = 1e-6f;
  DType dtype = DType::kBFloat16;
};

// out[b, l, :] = T(x[b, l, :] + y[b, l, :] * gate[b, g, :]) in fp32 (diffusers:
// (hidden_states.float() + attn_output * gate).type_as(hidden_states)), g = l / group_len as
// above; gate is fp32. out may alias x.
struct GatedResidualParams {
  const void* x = nullptr;      // [batch, len, dim], dtype
  const void* y = nullptr;      // [batch, len, dim], dtype
  const float* gate = nullptr;  // [batch, len / group_len, dim], fp32
  void* out = nullptr;          // [batch, len, dim], dtype
  int64_t x_batch_stride = 0, x_row_stride = 0;
  int64_t y_batch_stride = 0, y_row_stride = 0;
  int64_t gate_batch_stride = 0, gate_row_stride = 0;  // row = group
  int64_t out_batch_stride = 0, out_row_stride = 0;
  int batch = 0;
  int len = 0;
  int group_len = 1;  // tokens per gate row; divides len
  int dim = 0;        // a multiple of 8
  DType dtype = DType::kBFloat16;
};

}  // namespace rayvid::kernels

namespace rayvid::kernels::RAYVID_KERNEL_BACKEND {
LaunchError layer_norm_modulate_forward(const LayerNormModulateParams& params, Stream stream);
LaunchError gated_residual_forward(const GatedResidualParams& params, Stream stream);
}  // namespace rayvid::kernels::RAYVID_KERNEL_BACKEND
