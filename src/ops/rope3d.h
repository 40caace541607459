// 3D rotary position embedding of the Wan DiT (diffusers WanRotaryPosEmbed + apply_rotary_emb).
//
// Tokens come from a latent grid (frames F, rows H, columns W) flattened with W fastest:
// token = (f·H + h)·W + w. The head dimension D is split into three slices, one per axis:
// frames get D − 4·⌊D/6⌋ dims, rows and columns 2·⌊D/6⌋ each (44/42/42 for D = 128). Within an
// axis slice of `da` dims, the adjacent pair (x[2j], x[2j+1]) is rotated by the angle
// pos·θ^(−2j/da), pos being the token's index along that axis:
//   x'[2j] = x[2j]·cos − x[2j+1]·sin,   x'[2j+1] = x[2j]·sin + x[2j+1]·cos.
// Angles and their cos/sin are computed in float64 and stored as fp32 (as diffusers does); the
// rotation runs in fp32 and is rounded once to x's dtype.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>

#include "ops/kernel_backend.h"
#include "ops/kernel_path.h"

namespace rayvid::ops {

// Head-dim slice per axis (frames, rows, columns), e.g. {44, 42, 42} for head_dim 128.
std::array<int64_t, 3> rope3d_axis_dims(int64_t head_dim);

// cos/sin of every token's pair angles for one latent grid. Step-invariant: build once per
// latent size and reuse for every block and every step.
struct Rope3DTable {
  std::array<int64_t, 3> grid{};  // tokens along (frames, rows, columns) after patching
  int64_t head_dim = 0;
  at::Tensor cos;  // [L, head_dim / 2] fp32, L = F·H·W, one angle per rotated pair
  at::Tensor sin;  // [L, head_dim / 2] fp32
};

Rope3DTable make_rope3d_table(int64_t head_dim, std::array<int64_t, 3> grid, double theta,
                              c10::Device device);

struct RotatedQK {
  at::Tensor q, k;
};

// q, k: [B, L, heads, head_dim] of one dtype, L and head_dim matching the table. Returns new
// tensors of their shape and dtype. Backends (ops/kernel_backend.h): rayvid and emu run
// kernels/rope3d (q and k in one launch) where it applies (bf16/fp16, head_dim a multiple of 8
// up to 256), natively or on the CPU emulator; everything else, and aten and reference, is
// rope3d_reference. Every path computes the same values bit for bit.
RotatedQK rope3d(const at::Tensor& q, const at::Tensor& k, const Rope3DTable& table,
                 KernelBackend backend);

// Which path the rayvid and emu backends took (ops/kernel_path.h).
KernelPathCounts rope3d_path_counts();

}  // namespace rayvid::ops
