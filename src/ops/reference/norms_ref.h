// Plain ATen versions of the DiT block's AdaLN kernels (kernels/adaln): the executable
// specification the kernel tests compare against. Each follows diffusers' dtype flow when given
// 16-bit inputs (fp32 statistics, the same casts) and is pure fp32 when given fp32 inputs.
// kernels/rms_norm has no entry here: its one reference is ops::rms_norm_reference (the DiT's op).
#pragma once

#include <ATen/ATen.h>

namespace rayvid::ops::kernel_ref {

// (FP32LayerNorm(x.float()) * (1 + scale) + shift).type_as(x), LN without affine over the last
// dim; shift and scale fp32, broadcastable to x ([B, 1, C] or [B, L, C]).
at::Tensor layer_norm_modulate(const at::Tensor& x, const at::Tensor& shift,
                               const at::Tensor& scale, double eps);

// (x.float() + y * gate).type_as(x); gate fp32, broadcastable to x.
at::Tensor gated_residual(const at::Tensor& x, const at::Tensor& y, const at::Tensor& gate);

}  // namespace rayvid::ops::kernel_ref
