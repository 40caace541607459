// The VAE encoder (diffusers WanEncoder3d): conv_in, the down stages, the middle block and the
// head, for one temporal chunk at a time with a FeatureCache carrying the causal state.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <vector>

#include "models/wan_vae/blocks.h"
#include "models/wan_vae/config.h"
#include "models/wan_vae/resample.h"

namespace rayvid::models::wan_vae {

// Wan2.1 flattens the down path into one list of layers (down_blocks.k); Wan2.2 groups each
// stage into a residual down block with an average shortcut (down_blocks.i.resnets.j).
struct EncoderLayer {
  enum class Kind { kResidual, kAttention, kResample };
  Kind kind = Kind::kResidual;
  ResidualBlock residual;
  AttentionBlock attention;
  Resample resample;
};

struct ResidualDownBlock {
  std::vector<ResidualBlock> resnets;
  std::optional<Resample> downsampler;
  int64_t out_channels = 0, factor_t = 1, factor_s = 1;  // the AvgDown3D shortcut
};

struct Encoder3d {
  CausalConv3d conv_in;                   // 3x3x3, C_in -> base_dim
  std::vector<EncoderLayer> layers;       // Wan2.1
  std::vector<ResidualDownBlock> stages;  // Wan2.2 (is_residual)
  MidBlock mid_block;
  RMSNorm norm_out;
  CausalConv3d conv_out;  // 3x3x3 -> 2 * z_dim

  static Encoder3d load(WeightLoader& loader, const std::string& prefix, const WanVAEConfig& cfg);
  // One chunk: [B, C_in, 1 or 4, H, W] -> [B, 2z, 1, H/s, W/s] (s = 8 after patchify).
  at::Tensor forward(const at::Tensor& x, FeatureCache* cache) const;
};

}  // namespace rayvid::models::wan_vae
