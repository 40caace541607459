// RMSNorm over the full hidden size (Wan's q/k norm "rms_norm_across_heads"). Kernel and notes in
// rms_norm.cu; this header is the host-visible Params struct and launcher.
#pragma once

#include "common/kernel_api.h"

namespace rayvid::kernels {

// out[r, :] = T(x[r, :] * rsqrt(mean(x[r, :]^2) + eps) * weight), all in fp32, rounded once to T
// (torch.nn.RMSNorm's numerics, as ops::rms_norm_reference).
// Rows are addressed by element strides (x and out may alias); dim is contiguous.
struct RmsNormParams {
  const void* x = nullptr;       // [rows, dim], dtype, row stride x_row_stride
  const void* weight = nullptr;  // [dim], dtype
  void* out = nullptr;           // [rows, dim], dtype, row stride out_row_stride
  int64_t x_row_stride = 0, out_row_stride = 0;
  int64_t rows = 0;
  int dim = 0;  // a multiple of 8, at most 8192
  float eps = 1e-6f;
  DType dtype = DType::kBFloat16;
};

}  // namespace rayvid::kernels

namespace rayvid::kernels::RAYVID_KERNEL_BACKEND {
LaunchError rms_norm_forward(const RmsNormParams& params, Stream stream);
}  // namespace rayvid::kernels::RAYVID_KERNEL_BACKEND
