// rayvid's own CUDA attention (kernels/flash_attention) for tensors in the DiT's layout. The
// attention op (attention.cpp, backend `rayvid`) calls this first and falls back to
// at::scaled_dot_product_attention when it returns false. Backend `emu` does the same with the
// same kernel source run by the CPU emulator on CPU tensors.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

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

// The same kernel (kernels::emu::flash_attention_forward, flash_attention_emu.cpp) on CPU
// tensors, with the same rules except that q, k, v (and out) must be CPU tensors. Slow: for tests.
bool rayvid_attention_emu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          at::Tensor& out);
// How many times rayvid_attention_emu launched the kernel in this process (tests check that the
// model really went through it).
uint64_t rayvid_attention_emu_launches();

}  // namespace rayvid::ops
