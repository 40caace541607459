// rayvid's kernels for the DiT block's pointwise pieces (kernels/rms_norm, kernels/adaln,
// kernels/rope3d), each bound twice: natively on CUDA tensors (*_cuda, in rms_norm_cuda.cpp,
// adaln_cuda.cpp, rope3d_cuda.cpp; backend `rayvid`) and through the CPU emulator on CPU tensors
// (*_emu, in the *_emu.cpp files; backend `emu`), with the same Params (*_params.h). Each returns
// false, touching nothing, when its kernel does not apply (no CUDA kernels in this build, tensors
// on the other kind of device, dtype not bf16/fp16, unsupported sizes or strides); the caller then
// runs the ATen version. Launch failures throw rayvid::Error (kInternal).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace rayvid::ops {

// RMSNorm over the last dim (q/k norm across heads): x [..., C], weight [C] of x's dtype. `out`,
// if defined, must have x's shape, dtype and device and is written in place (it may be x itself);
// if undefined it is allocated.
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
// fp32 [B, G, C], G timestep groups of L / G tokens (ops/modulation.h). `out` is allocated.
bool rayvid_layer_norm_modulate_cuda(const at::Tensor& x, const at::Tensor& shift,
                                     const at::Tensor& scale, double eps, at::Tensor& out);
bool rayvid_layer_norm_modulate_emu(const at::Tensor& x, const at::Tensor& shift,
                                    const at::Tensor& scale, double eps, at::Tensor& out);

// x += y * gate in fp32, in place in x: x, y [B, L, C] of one dtype; gate fp32 [B, G, C].
bool rayvid_gated_residual_cuda(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate);
bool rayvid_gated_residual_emu(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate);

// Wan's 3D RoPE: q and k [B, L, heads, head_dim] rotated by the table's cos/sin [L, head_dim / 2]
// (fp32, ops::Rope3DTable) in one launch; q_out and k_out are allocated.
bool rayvid_rope3d_cuda(const at::Tensor& q, const at::Tensor& k, const at::Tensor& cos,
                        const at::Tensor& sin, at::Tensor& q_out, at::Tensor& k_out);
bool rayvid_rope3d_emu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& cos,
                       const at::Tensor& sin, at::Tensor& q_out, at::Tensor& k_out);

}  // namespace rayvid::ops
