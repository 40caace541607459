// Scaled dot-product attention, softmax(q·kᵀ/√head_dim)·v, without a mask, on the DiT's natural
// layout [B, L, heads, head_dim] (what the projections produce, so no transposes are needed by a
// kernel). Backends (ops/kernel_backend.h):
//   reference  plain ATen math in fp32, chunked over queries so memory stays bounded
//   aten       at::scaled_dot_product_attention (flash/memory-efficient kernels of LibTorch)
//   rayvid     rayvid's own CUDA kernel (kernels/flash_attention) on CUDA tensors it covers
//              (bf16/fp16, head_dim 64 or 128); SDPA otherwise (logged once)
//   emu        the same kernel source on the CPU emulator, for CPU tensors it covers; SDPA
//              otherwise (logged once). Slow: for tests of the model path through the kernel
#pragma once

#include <ATen/core/Tensor.h>

#include "ops/kernel_backend.h"
#include "ops/kernel_path.h"

namespace rayvid::ops {

// q: [B, Lq, heads, head_dim], k and v: [B, Lk, heads, head_dim], all of one floating dtype and
// device. Returns [B, Lq, heads, head_dim] in q's dtype. Scale 1/sqrt(head_dim).
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     KernelBackend backend);

// Calls of the rayvid/emu backends served by the kernel and by the SDPA fallback, over the
// process (ops/kernel_path.h).
KernelPathCounts attention_path_counts();

}  // namespace rayvid::ops
