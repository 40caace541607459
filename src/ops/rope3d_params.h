// Tensors -> kernels::Rope3DParams, shared by the two bindings of kernels/rope3d: the CUDA one
// (rope3d_cuda.cpp, backend `rayvid`) and the CPU emulator one (rope3d_emu.cpp, backend `emu`).
// The caller checks the device; everything else about whether the kernel applies is here.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "ops/cuda_binding_util.h"
#include "rope3d/rope3d.cuh"

namespace rayvid::ops::cuda_binding {

// Fills *p to rotate q and k [B, L, heads, head_dim] by the table's cos/sin [L, head_dim / 2]
// (fp32) into q_out and k_out, which it allocates (contiguous). Returns false, allocating
// nothing, when the kernel does not apply: q and k differ in shape or dtype, dtype not bf16/fp16,
// head_dim not a multiple of 8 up to 256, a table that does not match, strides or pointers not
// 16-byte multiples, empty tensors, batch above 65535.
inline bool fill_rope3d_params(const at::Tensor& q, const at::Tensor& k, const at::Tensor& cos,
                               const at::Tensor& sin, at::Tensor& q_out, at::Tensor& k_out,
                               kernels::Rope3DParams* p) {
  if (q.dim() != 4 || k.sizes() != q.sizes() || k.scalar_type() != q.scalar_type()) return false;
  if (!kernel_dtype(q.scalar_type(), &p->dtype) || q.numel() == 0) return false;
  const int64_t len = q.size(1), head_dim = q.size(3);
  if (head_dim % 8 != 0 || head_dim > 256 || q.size(0) > 65535 || len > INT32_MAX) return false;
  for (const at::Tensor* t : {&cos, &sin}) {
    if (t->scalar_type() != at::kFloat || t->dim() != 2 || t->size(0) != len ||
        t->size(1) != head_dim / 2 || !t->is_contiguous() || t->device() != q.device() ||
        reinterpret_cast<uintptr_t>(t->data_ptr()) % 16 != 0) {
      return false;
    }
  }
  if (k.device() != q.device() || !vector_friendly(q) || !vector_friendly(k)) return false;
  q_out = at::empty_like(q, at::MemoryFormat::Contiguous);
  k_out = at::empty_like(k, at::MemoryFormat::Contiguous);
  const at::Tensor* in[2] = {&q, &k};
  const at::Tensor* out[2] = {&q_out, &k_out};
  for (int i = 0; i < 2; ++i) {
    kernels::Rope3DTensor& t = p->tensors[i];
    t.in = in[i]->data_ptr(), t.out = out[i]->data_ptr();
    t.in_batch_stride = used_stride(*in[i], 0), t.in_row_stride = used_stride(*in[i], 1);
    t.in_head_stride = used_stride(*in[i], 2);
    t.out_batch_stride = used_stride(*out[i], 0), t.out_row_stride = used_stride(*out[i], 1);
    t.out_head_stride = used_stride(*out[i], 2);
  }
  p->num_tensors = 2, p->batch = static_cast<int>(q.size(0)), p->len = static_cast<int>(len);
  p->heads = static_cast<int>(q.size(2)), p->head_dim = static_cast<int>(head_dim);
  p->cos = cos.data_ptr<float>(), p->sin = sin.data_ptr<float>();
  return true;
}

}  // namespace rayvid::ops::cuda_binding
