// The executable specification of ops::layer_norm_modulate and ops::gated_residual (diffusers'
// WanTransformerBlock, with its fp32 islands): activations [B, L, C] whose L tokens fall in G
// timestep groups of L / G consecutive tokens, each group with its own fp32 modulation row
// ([B, G, C]; G = 1 is diffusers' per-sample modulation, G = L its per-token one).
#pragma once

#include <ATen/core/Tensor.h>

namespace rayvid::ops {

// (FP32LayerNorm(x.float()) * (1 + scale) + shift).type_as(x), LN without affine over C (fp32 mean
// and biased variance, eps inside the rsqrt). shift, scale: [B, G, C] fp32.
at::Tensor layer_norm_modulate_reference(const at::Tensor& x, const at::Tensor& shift,
                                         const at::Tensor& scale, double eps);

// (x.float() + y * gate).type_as(x); y: [B, L, C] of x's dtype, gate: [B, G, C] fp32. Returns a
// new tensor.
at::Tensor gated_residual_reference(const at::Tensor& x, const at::Tensor& y,
                                    const at::Tensor& gate);

}  // namespace rayvid::ops
