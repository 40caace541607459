// Timesteps and AdaLN modulation without per-token copies.
//
// Wan2.2 TI2V feeds one timestep per token ([B, L]), but only a few distinct values occur (the
// clean first frame at t = 0, every other token at t). diffusers embeds every token and
// materialises [B, L, 6, dim] fp32 per step (2 GB at 720p). Here the time MLP runs once per
// distinct value, and modulation rows are gathered per (batch, group), where a group is the
// whole sample, one latent frame, or, only when timesteps vary within a frame, one token; the
// ops apply row [b, g] to the L/G consecutive tokens of group g (ops/modulation.h).
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

// rows: [N, C], one per distinct timestep -> [B, G, C] for the groups: the modulation rows of
// ops::layer_norm_modulate and ops::gated_residual (ops/modulation.h).
at::Tensor rows_for_groups(const at::Tensor& rows, const TimestepGroups& groups);

}  // namespace rayvid::models::wan_dit
