// Inputs and outputs of the Wan DiT: patch embedding and unpatchify, the timestep embedding
// (sinusoid -> time MLP -> six modulation vectors), and the text and image context embedders.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>

#include "models/wan_dit/config.h"
#include "models/wan_dit/layers.h"
#include "models/wan_dit/weights.h"

namespace rayvid::models::wan_dit {

// diffusers Timesteps(flip_sin_to_cos=True, downscale_freq_shift=0): [cos(t·ω), sin(t·ω)] with
// ω_i = 10000^(−i/half), half = freq_dim/2, in fp32. t: [N] -> [N, freq_dim] fp32.
at::Tensor timestep_sinusoid(const at::Tensor& t, int64_t freq_dim);

struct TimeEmbedding {
  at::Tensor temb;  // [N, dim] compute dtype: output shift/scale input
  at::Tensor proj;  // [N, 6, dim] compute dtype: block modulation input
};
// t: [N] distinct timesteps. The time MLP runs in fp32 (an fp32 island); its output is rounded to
// the compute dtype as diffusers does (`.type_as(encoder_hidden_states)`).
TimeEmbedding embed_time(const at::Tensor& t, const WanDiTWeights& w, const WanDiTConfig& c,
                         const ComputeSettings& s);

// Text: Linear -> GELU(tanh) -> Linear. [B, Lt, text_dim] -> [B, Lt, dim].
at::Tensor embed_text(const at::Tensor& text, const WanDiTWeights& w, const ComputeSettings& s);

// CLIP tokens (Wan2.1 I2V/FLF2V): (+pos_embed) -> FP32LayerNorm -> Linear -> GELU -> Linear ->
// FP32LayerNorm. [B, Li, image_dim] -> [B, Li, dim]; FLF2V takes [2B, Li/2, image_dim] (first and
// last frame) and joins each pair of rows, as diffusers does.
at::Tensor embed_image(const at::Tensor& image, const WanDiTWeights& w, const WanDiTConfig& c,
                       const ComputeSettings& s);

// [B, C, F, H, W] -> [B, L, C·pt·ph·pw] tokens (W fastest), ready for the patch-embedding GEMM.
at::Tensor patchify(const at::Tensor& latents, const std::array<int64_t, 3>& patch);
// [B, L, pt·ph·pw·C] -> [B, C, F·pt, H·ph, W·pw] for a token grid (F, H, W).
at::Tensor unpatchify(const at::Tensor& tokens, const std::array<int64_t, 3>& grid,
                      const std::array<int64_t, 3>& patch);

}  // namespace rayvid::models::wan_dit
