// The DiT block's modulation pieces: LayerNorm + AdaLN modulation, and the gated residual add.
// Kernels and notes in adaln.cu; this header is the host-visible Params structs and launchers.
#pragma once

#include "common/kernel_api.h"

namespace rayvid::kernels {

// out[b, l, :] = T(LN(x[b, l, :]) * (1 + scale[b, l, :]) + shift[b, l, :]), LN without affine
// (fp32 mean and biased variance, eps inside the rsqrt) as diffusers' FP32LayerNorm on
// hidden_states.float(). shift and scale are fp32 and broadcast over l when their row stride is 0
// (Wan2.1: one modulation per sample; Wan2.2 TI2V: one per token). dim is contiguous.
struct LayerNormModulateParams {
  const void* x = nullptr;       // [batch, len, dim], dtype
  const float* shift = nullptr;  // [batch, len or 1, dim], fp32
  const float* scale = nullptr;  // [batch, len or 1, dim], fp32
  void* out = nullptr;           // [batch, len, dim], dtype (may alias x)
  int64_t x_batch_stride = 0, x_row_stride = 0;
  int64_t mod_batch_stride = 0, mod_row_stride = 0;  // shared by shift and scale
  int64_t out_batch_stride = 0, out_row_stride = 0;
  int batch = 0;
  int len = 0;
  int dim = 0;  // a multiple of 8, at most 8192
  float eps = 1e-6f;
  DType dtype = DType::kBFloat16;
};

// out[b, l, :] = T(x[b, l, :] + y[b, l, :] * gate[b, l, :]) in fp32 (diffusers:
// (hidden_states.float() + attn_output * gate).type_as(hidden_states)); gate is fp32 and
// broadcast over l when gate_row_stride is 0. out may alias x.
struct GatedResidualParams {
  const void* x = nullptr;      // [batch, len, dim], dtype
  const void* y = nullptr;      // [batch, len, dim], dtype
  const float* gate = nullptr;  // [batch, len or 1, dim], fp32
  void* out = nullptr;          // [batch, len, dim], dtype
  int64_t x_batch_stride = 0, x_row_stride = 0;
  int64_t y_batch_stride = 0, y_row_stride = 0;
  int64_t gate_batch_stride = 0, gate_row_stride = 0;
  int64_t out_batch_stride = 0, out_row_stride = 0;
  int batch = 0;
  int len = 0;
  int dim = 0;  // a multiple of 8
  DType dtype = DType::kBFloat16;
};

}  // namespace rayvid::kernels

namespace rayvid::kernels::RAYVID_KERNEL_BACKEND {
LaunchError layer_norm_modulate_forward(const LayerNormModulateParams& params, Stream stream);
LaunchError gated_residual_forward(const GatedResidualParams& params, Stream stream);
}  // namespace rayvid::kernels::RAYVID_KERNEL_BACKEND
