// The VAE's building blocks that keep the resolution: RMS norm, residual block, single-head
// spatial attention and the middle block (diffusers WanRMS_norm, WanResidualBlock,
// WanAttentionBlock, WanMidBlock).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "models/wan_vae/causal_conv.h"
#include "models/weights.h"

namespace rayvid::models::wan_vae {

// L2 normalisation over channels (dim 1) times sqrt(C) times gamma; no mean, no bias.
struct RMSNorm {
  at::Tensor gamma;  // [C, 1, 1, 1] (video) or [C, 1, 1] (per-frame images)
  double scale = 1;  // sqrt(C)

  static RMSNorm load(WeightLoader& loader, const std::string& prefix, int64_t dim, bool images);
  at::Tensor forward(const at::Tensor& x) const;  // same shape as x
};

struct ResidualBlock {
  RMSNorm norm1, norm2;
  CausalConv3d conv1, conv2;   // 3x3x3, padding 1
  CausalConv3d conv_shortcut;  // 1x1x1 when in != out, else undefined weight (identity)

  static ResidualBlock load(WeightLoader& loader, const std::string& prefix, int64_t in,
                            int64_t out);
  // [B, C_in, T, H, W] -> [B, C_out, T, H, W]; takes two cache slots.
  at::Tensor forward(const at::Tensor& x, FeatureCache* cache) const;
};

struct AttentionBlock {
  RMSNorm norm;   // images: gamma [C, 1, 1]
  Conv2d to_qkv;  // 1x1, C -> 3C
  Conv2d proj;    // 1x1, C -> C

  static AttentionBlock load(WeightLoader& loader, const std::string& prefix, int64_t dim);
  // [B, C, T, H, W] -> same; attention within each frame over its H*W positions.
  at::Tensor forward(const at::Tensor& x) const;
};

// resnet, then (attention, resnet) num_layers times (num_layers = 1 in the Wan VAEs).
struct MidBlock {
  std::vector<ResidualBlock> resnets;
  std::vector<AttentionBlock> attentions;

  static MidBlock load(WeightLoader& loader, const std::string& prefix, int64_t dim);
  at::Tensor forward(const at::Tensor& x, FeatureCache* cache) const;
};

}  // namespace rayvid::models::wan_vae
