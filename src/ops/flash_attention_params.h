// Tensors -> kernels::FlashAttentionParams, shared by the two bindings of kernels/flash_attention:
// the CUDA one (flash_attention_cuda.cpp, backend `rayvid`) and the CPU emulator one
// (flash_attention_emu.cpp, backend `emu`), so both launch the kernel with the same parameters.
// The caller checks the device; everything else about whether the kernel applies is here.
#pragma once

#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>

#include "flash_attention/flash_attention.cuh"
#include "ops/cuda_binding_util.h"

namespace rayvid::ops::cuda_binding {

// Fills *p for out = softmax(q k^T / sqrt(head_dim)) v, q [B, Lq, H, D], k and v [B, Lk, H, D]
// (the rules of attention_cuda.h). Returns false, touching neither `out` nor the tensors, when the
// kernel does not apply (dtype not bf16/fp16 or not shared, D not 64 or 128, empty or too long,
// strides or pointers not 16-byte multiples, a given `out` that does not fit). An undefined `out`
// is allocated contiguous, like q.
inline bool fill_flash_attention_params(const at::Tensor& q, const at::Tensor& k,
                                        const at::Tensor& v, at::Tensor& out,
                                        kernels::FlashAttentionParams* p) {
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4) return false;
  if (!kernel_dtype(q.scalar_type(), &p->dtype)) return false;
  if (k.scalar_type() != q.scalar_type() || v.scalar_type() != q.scalar_type()) return false;
  const int64_t batch = q.size(0), q_len = q.size(1), heads = q.size(2), head_dim = q.size(3);
  const int64_t kv_len = k.size(1);
  if (k.sizes() != v.sizes() || k.size(0) != batch || k.size(2) != heads || k.size(3) != head_dim) {
    return false;
  }
  if ((head_dim != 64 && head_dim != 128) || q_len == 0 || kv_len == 0 || batch > 65535 ||
      heads > 65535 || q_len > INT32_MAX || kv_len > INT32_MAX) {
    return false;
  }
  if (!vector_friendly(q) || !vector_friendly(k) || !vector_friendly(v)) return false;
  if (out.defined()) {
    if (out.sizes() != q.sizes() || out.scalar_type() != q.scalar_type() ||
        out.device() != q.device() || !vector_friendly(out)) {
      return false;
    }
  } else {
    out = at::empty_like(q, at::MemoryFormat::Contiguous);  // [B, Lq, H, D]
  }
  p->q = q.data_ptr(), p->k = k.data_ptr(), p->v = v.data_ptr(), p->out = out.data_ptr();
  p->q_batch_stride = q.stride(0), p->q_row_stride = q.stride(1), p->q_head_stride = q.stride(2);
  p->k_batch_stride = k.stride(0), p->k_row_stride = k.stride(1), p->k_head_stride = k.stride(2);
  p->v_batch_stride = v.stride(0), p->v_row_stride = v.stride(1), p->v_head_stride = v.stride(2);
  p->out_batch_stride = out.stride(0), p->out_row_stride = out.stride(1);
  p->out_head_stride = out.stride(2);
  p->batch = static_cast<int>(batch), p->heads = static_cast<int>(heads);
  p->q_len = static_cast<int>(q_len), p->kv_len = static_cast<int>(kv_len);
  p->head_dim = static_cast<int>(head_dim);
  p->softmax_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  return true;
}

}  // namespace rayvid::ops::cuda_binding
