// Plain ATen 3D RoPE of the Wan DiT (diffusers' WanRotaryPosEmbed + apply_rotary_emb): the
// executable specification of kernels/rope3d. Kept apart from rope3d_reference.* (the DiT's op).
#pragma once

#include <ATen/ATen.h>

#include <utility>

namespace rayvid::ops::kernel_ref {

// cos and sin tables [F * H * W, head_dim] (fp32, each value repeated for the pair (2j, 2j+1)),
// computed in fp64 like diffusers: head_dim split t/h/w = d - 4 * (d / 6), 2 * (d / 6),
// 2 * (d / 6), frequencies theta^(-2i / axis_dim), positions the patch-grid indices.
std::pair<at::Tensor, at::Tensor> rope3d_tables(int64_t grid_f, int64_t grid_h, int64_t grid_w,
                                                int64_t head_dim, double theta);

// Rotates adjacent pairs of x [B, L, heads, head_dim] by the tables (fp32 math, result in x's
// dtype), as diffusers' apply_rotary_emb.
at::Tensor rope3d_apply(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace rayvid::ops::kernel_ref
