// One Wan DiT transformer block: AdaLN-modulated self-attention with RMSNorm'd q/k and 3D RoPE,
// cross-attention to the prompt (and, for Wan2.1 I2V, separately to the CLIP image tokens), and
// a modulated tanh-GELU FFN.
#pragma once

#include <ATen/core/Tensor.h>

#include "models/wan_dit/layers.h"
#include "models/wan_dit/modulation.h"
#include "models/wan_dit/weights.h"
#include "ops/rope3d.h"

namespace rayvid::models::wan_dit {

// The cross-attention keys and values of one block. They depend only on the prompt (and image),
// so they are computed once per generation and reused by every step.
struct BlockContext {
  at::Tensor text_key, text_value;    // [B, Lt, heads, head_dim]
  at::Tensor image_key, image_value;  // [B, Li, heads, head_dim]: Wan2.1 I2V/FLF2V only
};

// text: [B, Lt, dim], image: [B, Li, dim] or undefined (both after the context embedders).
BlockContext prepare_block_context(const BlockWeights& w, const at::Tensor& text,
                                   const at::Tensor& image, const ComputeSettings& s);

// x: [B, L, dim] in the compute dtype; time_proj: [N, 6, dim], one row per distinct timestep.
// Returns the block output [B, L, dim] (x's storage is reused where possible).
at::Tensor block_forward(at::Tensor x, const BlockWeights& w, const at::Tensor& time_proj,
                         const TimestepGroups& groups, const ops::Rope3DTable& rope,
                         const BlockContext& context, const ComputeSettings& s);

}  // namespace rayvid::models::wan_dit
