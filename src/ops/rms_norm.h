// RMSNorm over the last dimension: y = x · rsqrt(mean(x²) + eps) · weight, computed in fp32 and
// rounded once to x's dtype (torch.nn.RMSNorm's numerics for fp32 and bf16 inputs). The Wan DiT
// applies it to q and k across all heads at once (last dim = heads·head_dim).
#pragma once

#include <ATen/core/Tensor.h>

#include "ops/kernel_backend.h"
#include "ops/kernel_path.h"

namespace rayvid::ops {

// x: [..., C]; weight: [C] (any floating dtype). Returns x's shape and dtype. The backend is the
// DiT's attention backend (one setting picks rayvid's kernels or LibTorch's for the whole block):
//   rayvid  rayvid's CUDA kernel (kernels/rms_norm) on CUDA tensors it covers (bf16/fp16 x and
//           weight of one dtype, C a multiple of 8 up to 8192); the ATen path otherwise (logged
//           once)
//   emu     the same kernel source on the CPU emulator, for CPU tensors it covers; the ATen path
//           otherwise (logged once). Slow: for tests of the model path through the kernel
//   reference, sdpa  the ATen path (at::rms_norm, or rms_norm_reference for mixed dtypes)
// All paths compute the same function (rms_norm_reference) up to fp32 summation order.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps,
                    KernelBackend backend);

// Which path the rayvid and emu backends took, counted over the process (calls of the custom
// kernel, and calls it did not apply to and that went to the ATen path), like
// attention_path_counts().
KernelPathCounts rms_norm_path_counts();

}  // namespace rayvid::ops
