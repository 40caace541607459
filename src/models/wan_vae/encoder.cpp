// The VAE encoder: see encoder.h. Layer order (and so cache slot order) follows
// diffusers' WanEncoder3d.__init__ exactly.
#include "models/wan_vae/encoder.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

namespace rayvid::models::wan_vae {

Encoder3d Encoder3d::load(WeightLoader& loader, const std::string& prefix,
                          const WanVAEConfig& cfg) {
  Encoder3d enc;
  const auto dims = cfg.encoder_dims();
  const int64_t stages = cfg.num_stages();
  enc.conv_in = CausalConv3d::load(loader, prefix + ".conv_in", cfg.in_channels, dims[0], {3, 3, 3},
                                   {1, 1, 1}, {1, 1, 1});
  double scale = 1.0;
  int64_t flat = 0;  // Wan2.1 running index of down_blocks.k
  for (int64_t i = 0; i < stages; ++i) {
    int64_t in = dims[i];
    const int64_t out = dims[i + 1];
    const bool last = i == stages - 1;
    if (cfg.is_residual) {
      ResidualDownBlock block;
      const std::string p = fmt::format("{}.down_blocks.{}", prefix, i);
      for (int64_t j = 0; j < cfg.num_res_blocks; ++j) {
        block.resnets.push_back(
            ResidualBlock::load(loader, fmt::format("{}.resnets.{}", p, j), in, out));
        in = out;
      }
      const bool temporal = !last && cfg.temperal_downsample[i];
      if (!last) {
        block.downsampler =
            Resample::load(loader, p + ".downsampler", out,
                           temporal ? ResampleMode::kDownsample3d : ResampleMode::kDownsample2d, 0);
      }
      block.out_channels = out;
      block.factor_t = temporal ? 2 : 1;
      block.factor_s = last ? 1 : 2;
      enc.stages.push_back(std::move(block));
      continue;
    }
    for (int64_t j = 0; j < cfg.num_res_blocks; ++j) {
      EncoderLayer layer;
      layer.kind = EncoderLayer::Kind::kResidual;
      layer.residual =
          ResidualBlock::load(loader, fmt::format("{}.down_blocks.{}", prefix, flat++), in, out);
      enc.layers.push_back(std::move(layer));
      if (std::find(cfg.attn_scales.begin(), cfg.attn_scales.end(), scale) !=
          cfg.attn_scales.end()) {
        EncoderLayer attn;
        attn.kind = EncoderLayer::Kind::kAttention;
        attn.attention =
            AttentionBlock::load(loader, fmt::format("{}.down_blocks.{}", prefix, flat++), out);
        enc.layers.push_back(std::move(attn));
      }
      in = out;
    }
    if (!last) {
      EncoderLayer layer;
      layer.kind = EncoderLayer::Kind::kResample;
      layer.resample = Resample::load(
          loader, fmt::format("{}.down_blocks.{}", prefix, flat++), out,
          cfg.temperal_downsample[i] ? ResampleMode::kDownsample3d : ResampleMode::kDownsample2d,
          0);
      enc.layers.push_back(std::move(layer));
      scale /= 2.0;
    }
  }
  enc.mid_block = MidBlock::load(loader, prefix + ".mid_block", dims.back());
  enc.norm_out = RMSNorm::load(loader, prefix + ".norm_out", dims.back(), /*images=*/false);
  enc.conv_out = CausalConv3d::load(loader, prefix + ".conv_out", dims.back(), cfg.z_dim * 2,
                                    {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  return enc;
}

at::Tensor Encoder3d::forward(const at::Tensor& x, FeatureCache* cache) const {
  at::Tensor y = causal_conv_cached(conv_in, x, cache);  // [B, base_dim, T, H, W]
  for (const auto& layer : layers) {
    switch (layer.kind) {
      case EncoderLayer::Kind::kResidual:
        y = layer.residual.forward(y, cache);  // [B, C_out, T, H, W]
        break;
      case EncoderLayer::Kind::kAttention:
        y = layer.attention.forward(y);
        break;
      case EncoderLayer::Kind::kResample:
        y = layer.resample.forward(y, cache);  // [B, C, T', H/2, W/2]
        break;
    }
  }
  for (const auto& stage : stages) {
    const at::Tensor shortcut = y;  // the reference clones; nothing below writes into y's storage
    for (const auto& resnet : stage.resnets) y = resnet.forward(y, cache);  // [B, C_out, T, H, W]
    if (stage.downsampler) y = stage.downsampler->forward(y, cache);  // [B, C_out, T', H', W']
    y = y + avg_down_3d(shortcut, stage.out_channels, stage.factor_t, stage.factor_s);
  }
  y = mid_block.forward(y, cache);  // [B, C, T, H/8, W/8]
  y = norm_out.forward(y);
  at::silu_(y);
  return causal_conv_cached(conv_out, y, cache);  // [B, 2z, T, H/8, W/8]
}

}  // namespace rayvid::models::wan_vae
