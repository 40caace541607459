// Tensors -> kernels::LayerNormModulateParams / GatedResidualParams, shared by the two bindings of
// kernels/adaln: the CUDA one (adaln_cuda.cpp, backend `rayvid`) and the CPU emulator one
// (adaln_emu.cpp, backend `emu`). The caller checks the device; everything else about whether a
// kernel applies is here.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "adaln/adaln.cuh"
#include "ops/cuda_binding_util.h"

namespace rayvid::ops::cuda_binding {

// x [B, L, C] (bf16/fp16) and its fp32 modulation rows [B, G, C], G dividing L (ops/modulation.h).
inline bool modulation_applies(const at::Tensor& x, std::initializer_list<const at::Tensor*> rows,
                               kernels::DType* dtype) {
  if (x.dim() != 3 || !kernel_dtype(x.scalar_type(), dtype) || x.numel() == 0) return false;
  if (x.size(2) % 8 != 0 || x.size(0) > 65535 || x.size(1) > INT32_MAX) return false;
  if (!vector_friendly(x)) return false;
  const at::Tensor& first = **rows.begin();
  for (const at::Tensor* r : rows) {
    if (r->scalar_type() != at::kFloat || r->dim() != 3 || r->size(0) != x.size(0) ||
        r->size(1) == 0 || x.size(1) % r->size(1) != 0 || r->size(2) != x.size(2) ||
        r->device() != x.device() || !vector_friendly(*r) ||
        used_stride(*r, 0) != used_stride(first, 0) ||
        used_stride(*r, 1) != used_stride(first, 1)) {
      return false;
    }
  }
  return true;
}

// out = LN(x) * (1 + scale) + shift, allocated here (contiguous). False, allocating nothing, when
// the kernel does not apply (also C above 8192).
inline bool fill_layer_norm_modulate_params(const at::Tensor& x, const at::Tensor& shift,
                                            const at::Tensor& scale, double eps, at::Tensor& out,
                                            kernels::LayerNormModulateParams* p) {
  if (!modulation_applies(x, {&shift, &scale}, &p->dtype) || x.size(2) > 8192) return false;
  out = at::empty_like(x, at::MemoryFormat::Contiguous);
  p->x = x.data_ptr(), p->shift = shift.data_ptr<float>(), p->scale = scale.data_ptr<float>();
  p->out = out.data_ptr();
  p->x_batch_stride = used_stride(x, 0), p->x_row_stride = used_stride(x, 1);
  p->mod_batch_stride = used_stride(shift, 0), p->mod_row_stride = used_stride(shift, 1);
  p->out_batch_stride = used_stride(out, 0), p->out_row_stride = used_stride(out, 1);
  p->batch = static_cast<int>(x.size(0)), p->len = static_cast<int>(x.size(1));
  p->group_len = static_cast<int>(x.size(1) / shift.size(1));
  p->dim = static_cast<int>(x.size(2)), p->eps = static_cast<float>(eps);
  return true;
}

// x += y * gate, in place in x. False, touching nothing, when the kernel does not apply (also y
// not of x's shape and dtype).
inline bool fill_gated_residual_params(const at::Tensor& x, const at::Tensor& y,
                                       const at::Tensor& gate, kernels::GatedResidualParams* p) {
  if (!modulation_applies(x, {&gate}, &p->dtype)) return false;
  if (y.sizes() != x.sizes() || y.scalar_type() != x.scalar_type() || y.device() != x.device() ||
      !vector_friendly(y)) {
    return false;
  }
  p->x = x.data_ptr(), p->y = y.data_ptr(), p->gate = gate.data_ptr<float>(), p->out = x.data_ptr();
  p->x_batch_stride = p->out_batch_stride = used_stride(x, 0);
  p->x_row_stride = p->out_row_stride = used_stride(x, 1);
  p->y_batch_stride = used_stride(y, 0), p->y_row_stride = used_stride(y, 1);
  p->gate_batch_stride = used_stride(gate, 0), p->gate_row_stride = used_stride(gate, 1);
  p->batch = static_cast<int>(x.size(0)), p->len = static_cast<int>(x.size(1));
  p->group_len = static_cast<int>(x.size(1) / gate.size(1));
  p->dim = static_cast<int>(x.size(2));
  return true;
}

}  // namespace rayvid::ops::cuda_binding
