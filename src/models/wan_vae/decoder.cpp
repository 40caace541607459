// The VAE decoder: see decoder.h. Layer order (and so cache slot order) follows diffusers'
// WanDecoder3d.__init__ exactly.
#include "models/wan_vae/decoder.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace rayvid::models::wan_vae {

Decoder3d Decoder3d::load(WeightLoader& loader, const std::string& prefix,
                          const WanVAEConfig& cfg) {
  Decoder3d dec;
  const auto dims = cfg.decoder_dims();
  const auto temporal_up = cfg.temperal_upsample();
  const int64_t stages = cfg.num_stages();
  dec.conv_in = CausalConv3d::load(loader, prefix + ".conv_in", cfg.z_dim, dims[0], {3, 3, 3},
                                   {1, 1, 1}, {1, 1, 1});
  dec.mid_block = MidBlock::load(loader, prefix + ".mid_block", dims[0]);
  for (int64_t i = 0; i < stages; ++i) {
    // Wan2.1 upsamplers halve the channels, so later stages start from half the width.
    int64_t in = (i > 0 && !cfg.is_residual) ? dims[i] / 2 : dims[i];
    const int64_t out = dims[i + 1];
    const bool up = i != stages - 1;
    const bool temporal = up && temporal_up[i];
    const std::string p = fmt::format("{}.up_blocks.{}", prefix, i);
    UpBlock block;
    for (int64_t j = 0; j <= cfg.num_res_blocks; ++j) {
      block.resnets.push_back(
          ResidualBlock::load(loader, fmt::format("{}.resnets.{}", p, j), j == 0 ? in : out, out));
    }
    if (up) {
      const auto mode = temporal ? ResampleMode::kUpsample3d : ResampleMode::kUpsample2d;
      block.upsampler = cfg.is_residual
                            ? Resample::load(loader, p + ".upsampler", out, mode, out)
                            : Resample::load(loader, p + ".upsamplers.0", out, mode, out / 2);
      if (cfg.is_residual) {
        block.dup_shortcut = true;
        block.out_channels = out;
        block.factor_t = temporal ? 2 : 1;
        block.factor_s = 2;
      }
    }
    dec.up_blocks.push_back(std::move(block));
  }
  dec.norm_out = RMSNorm::load(loader, prefix + ".norm_out", dims.back(), /*images=*/false);
  dec.conv_out = CausalConv3d::load(loader, prefix + ".conv_out", dims.back(), cfg.out_channels,
                                    {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  return dec;
}

at::Tensor Decoder3d::forward(const at::Tensor& z, FeatureCache* cache, bool first_chunk) const {
  at::Tensor y = causal_conv_cached(conv_in, z, cache);  // [B, C_top, 1, h, w]
  y = mid_block.forward(y, cache);
  for (const auto& block : up_blocks) {
    // read-only below (the reference clones); held only where the stage has a shortcut
    const at::Tensor shortcut = block.dup_shortcut ? y : at::Tensor();
    for (const auto& resnet : block.resnets) y = resnet.forward(y, cache);  // [B, C_out, T, H, W]
    if (block.upsampler) y = block.upsampler->forward(y, cache);            // [B, C', T', 2H, 2W]
    if (block.dup_shortcut) {
      y = add_dup_up_3d(std::move(y), shortcut, block.out_channels, block.factor_t, block.factor_s,
                        first_chunk);
    }
  }
  y = norm_out.forward(y);
  at::silu_(y);
  return causal_conv_cached(conv_out, y, cache);  // [B, C_out, T, H, W]
}

}  // namespace rayvid::models::wan_vae
