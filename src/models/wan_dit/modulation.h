// Timesteps and AdaLN modulation without per-token copies.
//
// Wan2.2 TI2V feeds one timestep per token ([B, L]), but only a few distinct values occur (the
// clean first frame at t = 0, every other token at t). diffusers embeds every token and
// materialises [B, L, 6, dim] fp32 per step (2 GB at 720p). Here the time MLP runs once per
// distinct value, and modulation rows are gathered per (batch, group), where a group is the
// whole sample, one latent frame, or, only when timesteps vary within a frame, one token.
// Activations [B, L, C] viewed as [B, G, L/G, C] then broadcast against rows [B, G, 1, C].
#pragma once

#include <ATen/core/Tensor.h>

#include <array>

namespace rayvid::models::wan_dit {

struct TimestepGroups {
  at::Tensor values;   // [N] fp32: the distinct timesteps
  at::Tensor index;    // [B, G] int64: which value each (sample, group) uses
  int64_t groups = 1;  // G: 1 (per sample), F (per latent frame) or L (per token)
};

// timestep: [B] (one per sample) or [B, L] (one per token, L = F·H·W of `grid`). The result
// lives on `device`.
TimestepGroups group_timesteps(const at::Tensor& timestep, int64_t batch,
                               const std::array<int64_t, 3>& grid, c10::Device device);

// rows: [N, C], one per distinct timestep -> [B, G, 1, C] for the groups.
at::Tensor rows_for_groups(const at::Tensor& rows, const TimestepGroups& groups);

// x: [B, L, C] -> [B, G, L/G, C] (a view).
at::Tensor view_as_groups(const at::Tensor& x, const TimestepGroups& groups);

// (LayerNorm(x) in fp32)·(1 + scale) + shift, rounded to x's dtype. scale, shift: [B, G, 1, C]
// fp32.
at::Tensor modulated_norm(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& shift,
                          const TimestepGroups& groups, double eps);

// x + y·gate in fp32, rounded to x's dtype (x is updated in place when it is fp32).
at::Tensor gated_residual(at::Tensor x, const at::Tensor& y, const at::Tensor& gate,
                          const TimestepGroups& groups);

}  // namespace rayvid::models::wan_dit
