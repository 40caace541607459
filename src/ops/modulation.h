// The Wan DiT block's AdaLN pieces, on activations [B, L, C] whose L tokens fall in G timestep
// groups of L / G consecutive tokens, each group with its own fp32 modulation row [B, G, C]:
// G = 1 for Wan2.1 (one timestep per sample), one group per latent frame for Wan2.2 TI2V (its
// clean first frame sits at t = 0), or one per token when timesteps vary within a frame. The rows
// are never expanded to [B, L, C] (2 GB of fp32 per step at 720p, which diffusers materialises).
//
// Backends (ops/kernel_backend.h): rayvid and emu run kernels/adaln where it applies (bf16/fp16
// x, C a multiple of 8, up to 8192 for the LayerNorm), natively or on the CPU emulator; all else,
// and aten and reference, is the reference (ops/reference/modulation_reference.h). The paths agree
// to fp32 summation order (the LayerNorm's statistics) and exactly for the gated residual.
#pragma once

#include <ATen/core/Tensor.h>

#include "ops/kernel_backend.h"
#include "ops/kernel_path.h"

namespace rayvid::ops {

// (LayerNorm(x) in fp32) * (1 + scale) + shift, rounded to x's dtype; LN without affine.
// x: [B, L, C]; shift, scale: [B, G, C] fp32 with G dividing L. Returns a new tensor.
at::Tensor layer_norm_modulate(const at::Tensor& x, const at::Tensor& shift,
                               const at::Tensor& scale, double eps, KernelBackend backend);

// x + y * gate in fp32, rounded to x's dtype. x is consumed: the result reuses its storage where
// it can (always on the kernel path, and for fp32 x). y: [B, L, C] of x's dtype; gate [B, G, C]
// fp32.
at::Tensor gated_residual(at::Tensor x, const at::Tensor& y, const at::Tensor& gate,
                          KernelBackend backend);

// Which path the rayvid and emu backends took, per op (ops/kernel_path.h).
KernelPathCounts layer_norm_modulate_path_counts();
KernelPathCounts gated_residual_path_counts();

}  // namespace rayvid::ops
