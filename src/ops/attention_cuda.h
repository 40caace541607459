// rayvid's own CUDA attention (kernels/flash_attention) for tensors in the DiT's layout. The
// attention op (attention.cpp, backend `rayvid`) calls this first and falls back to
// at::scaled_dot_product_attention when it returns false.
#pragma once

#include <ATen/ATen.h>

namespace rayvid::ops {

// out = softmax(q k^T / sqrt(head_dim)) v for q [B, Lq, H, D], k and v [B, Lk, H, D] (any
// strides with head_dim contiguous, e.g. views of a packed projection). Returns false, touching
// nothing, when the kernel does not apply: no CUDA kernels in this build, tensors not on one CUDA
// device, dtype not bf16/fp16 (all three the same), D not 64 or 128, strides or pointers not
// 16-byte multiples. `out`, if defined, must be [B, Lq, H, D] of q's dtype and device with the
// same alignment rules and is written in place; if undefined it is allocated contiguous.
// Throws rayvid::Error (kInternal) when the launch itself fails.
bool rayvid_attention_cuda(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           at::Tensor& out);

}  // namespace rayvid::ops
