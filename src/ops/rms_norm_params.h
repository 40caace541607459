// Tensors -> kernels::RmsNormParams, shared by the two bindings of kernels/rms_norm: the CUDA one
// (rms_norm_cuda.cpp, backend `rayvid`) and the CPU emulator one (rms_norm_emu.cpp, backend
// `emu`), so both launch the kernel with the same parameters. The caller checks the device;
// everything else about whether the kernel applies is here.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "ops/cuda_binding_util.h"
#include "rms_norm/rms_norm.cuh"

namespace rayvid::ops::cuda_binding {

// Fills *p for out = RMSNorm(x) * weight over the last dim (the rules of norms_cuda.h). Returns
// false, touching neither `out` nor the tensors, when the kernel does not apply (x not at least
// 2-D, dtype not bf16/fp16 or weight's differs, C not a multiple of 8 or above 8192, empty x,
// rows not evenly spaced, strides or pointers not 16-byte multiples, a given `out` that does not
// fit). An undefined `out` is allocated contiguous, like x.
inline bool fill_rms_norm_params(const at::Tensor& x, const at::Tensor& weight, double eps,
                                 at::Tensor& out, kernels::RmsNormParams* p) {
  if (x.dim() < 2 || !kernel_dtype(x.scalar_type(), &p->dtype)) return false;
  if (weight.scalar_type() != x.scalar_type() || weight.dim() != 1 || weight.size(0) != x.size(-1))
    return false;
  if (weight.device() != x.device()) return false;
  if (x.size(-1) % 8 != 0 || x.size(-1) > 8192 || x.numel() == 0) return false;
  if (!vector_friendly(x) || !vector_friendly(weight) || row_stride(x) < 0) return false;
  if (out.defined() && (!prepare_out(x, out) || row_stride(out) < 0)) return false;
  if (!out.defined()) prepare_out(x, out);
  p->x = x.data_ptr(), p->weight = weight.data_ptr(), p->out = out.data_ptr();
  p->x_row_stride = row_stride(x), p->out_row_stride = row_stride(out);
  p->rows = x.numel() / x.size(-1), p->dim = static_cast<int>(x.size(-1));
  p->eps = static_cast<float>(eps);
  return true;
}

}  // namespace rayvid::ops::cuda_binding
