// The VAE decoder (diffusers WanDecoder3d): conv_in, the middle block, the up stages and the
// head, for one latent frame at a time with a FeatureCache carrying the causal state.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <vector>

#include "models/wan_vae/blocks.h"
#include "models/wan_vae/config.h"
#include "models/wan_vae/resample.h"

namespace rayvid::models::wan_vae {

// One up stage: num_res_blocks + 1 residual blocks, then an optional upsampler. Wan2.2
// (residual) adds a DupUp3D shortcut around the stage when it upsamples.
struct UpBlock {
  std::vector<ResidualBlock> resnets;
  std::optional<Resample> upsampler;
  bool dup_shortcut = false;
  int64_t out_channels = 0, factor_t = 1, factor_s = 1;  // the DupUp3D shortcut
};

struct Decoder3d {
  CausalConv3d conv_in;  // 3x3x3, z -> C_top
  MidBlock mid_block;
  std::vector<UpBlock> up_blocks;
  RMSNorm norm_out;
  CausalConv3d conv_out;  // 3x3x3 -> out_channels

  static Decoder3d load(WeightLoader& loader, const std::string& prefix, const WanVAEConfig& cfg);
  // One latent frame: [B, z, 1, h, w] -> [B, C_out, 1 (first chunk) or 4, h*s, w*s].
  at::Tensor forward(const at::Tensor& z, FeatureCache* cache, bool first_chunk) const;
};

}  // namespace rayvid::models::wan_vae
