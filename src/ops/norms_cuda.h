// rayvid's CUDA kernels for the DiT block's pointwise pieces (kernels/rms_norm, kernels/adaln,
// kernels/rope3d; bound in rms_norm_cuda.cpp, adaln_cuda.cpp, rope3d_cuda.cpp; RMSNorm also on the
// CPU emulator in rms_norm_emu.cpp). Each returns false, touching nothing, when its kernel does
// not apply (no CUDA kernels in this build, CPU tensors, dtype not bf16/fp16, unsupported sizes or
// strides); the caller then runs the ATen version. `out`,
// if defined, must have x's shape, dtype and device and is written in place (it may be x itself);
// if undefined it is allocated. Launch failures throw rayvid::Error (kInternal).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace rayvid::ops {

// RMSNorm over the last dim (q/k norm across heads): x [..., C], weight [C] of x's dtype.
bool rayvid_rms_norm_cuda(const at::Tensor& x, const at::Tensor& weight, double eps,
                          at::Tensor& out);
// The same kernel (kernels::emu::rms_norm_forward, rms_norm_emu.cpp) on CPU tensors, with the same
// rules except that x and weight (and out) must be CPU tensors. Slow: for tests (backend `emu`).
bool rayvid_rms_norm_emu(const at::Tensor& x, const at::Tensor& weight, double eps,
                         at::Tensor& out);
// How many times rayvid_rms_norm_emu launched the kernel in this process (tests check that the
// model really went through it).
uint64_t rayvid_rms_norm_emu_launches();

// (LayerNorm(x) * (1 + scale) + shift) in fp32, LN without affine: x [B, L, C]; shift and scale
// fp32, broadcastable to [B, L, C] with the same strides after broadcasting.
bool rayvid_layer_norm_modulate_cuda(const at::Tensor& x, const at::Tensor& shift,
                                     const at::Tensor& scale, double eps, at::Tensor& out);

// x + y * gate in fp32: x, y [B, L, C] of one dtype; gate fp32 broadcastable to [B, L, C].
bool rayvid_gated_residual_cuda(const at::Tensor& x, const at::Tensor& y, const at::Tensor& gate,
                                at::Tensor& out);

// Wan's 3D RoPE on q and k [B, F * H * W, heads, head_dim] in place, positions the patch grid.
bool rayvid_rope3d_cuda(at::Tensor& q, at::Tensor& k, int64_t grid_f, int64_t grid_h,
                        int64_t grid_w, double theta);

}  // namespace rayvid::ops
