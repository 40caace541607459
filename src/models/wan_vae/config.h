// WanVAEConfig: the diffusers `AutoencoderKLWan` config (vae/config.json) in PyTorch terms, with
// presets for the two published VAEs. Wan2.1 (z16, 4x8x8) and Wan2.2 (z48, patch 2, residual
// blocks, 4x16x16) differ only in these fields.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/json_file.h"

namespace rayvid::models::wan_vae {

struct WanVAEConfig {
  int64_t base_dim = 96;          // encoder width: 96 (2.1), 160 (2.2)
  int64_t decoder_base_dim = 96;  // decoder width: 96 (2.1), 256 (2.2); null in JSON = base_dim
  int64_t z_dim = 16;             // latent channels: 16 (2.1), 48 (2.2)
  std::vector<int64_t> dim_mult = {1, 2, 4, 4};                 // per-stage width multipliers
  int64_t num_res_blocks = 2;                                   // encoder; decoder has one more
  std::vector<double> attn_scales = {};                         // encoder attention scales (empty)
  std::vector<bool> temperal_downsample = {false, true, true};  // per encoder stage (sic)
  std::vector<double> latents_mean;   // [z_dim] pipeline normalisation: (mu - mean) / std
  std::vector<double> latents_std;    // [z_dim]
  bool is_residual = false;           // 2.2: AvgDown3D / DupUp3D shortcuts around each stage
  int64_t in_channels = 3;            // 3, or 12 = 3 * patch^2 (2.2)
  int64_t out_channels = 3;           // 3, or 12 (2.2)
  int64_t patch_size = 1;             // 1 (2.1, null in JSON), 2 (2.2)
  int64_t scale_factor_temporal = 4;  // pixel frames per latent frame (after the first)
  int64_t scale_factor_spatial = 8;   // pixels per latent pixel: 8 (2.1), 16 (2.2)

  // Derived.
  int64_t num_stages() const { return static_cast<int64_t>(dim_mult.size()); }
  std::vector<bool> temperal_upsample() const;  // reversed temperal_downsample
  std::vector<int64_t> encoder_dims() const;    // base_dim * [1] + dim_mult
  std::vector<int64_t> decoder_dims() const;    // decoder_base_dim * ([last] + reversed dim_mult)
  int64_t image_channels() const { return in_channels / (patch_size * patch_size); }  // 3

  // Shapes in both directions.
  int64_t num_frames_latent(int64_t num_frames_pixel) const;
  int64_t num_frames_pixel(int64_t num_frames_latent) const;

  static WanVAEConfig from_json(const io::JsonFile& json);
  // The architecture from tensor names and shapes alone (diffusers names), for checkpoints
  // without a config.json. latents_mean/std come from the preset with the same z_dim.
  static WanVAEConfig detect(const std::map<std::string, std::vector<int64_t>>& shapes);
  // Throws kBadInput naming `where` (the file, or the checkpoint), the field and the problem.
  void validate(const std::string& where = "[WanVAEConfig]") const;

  nlohmann::json to_json() const;  // the vae/config.json fields from_json reads back
  static WanVAEConfig wan21();     // Wan-AI/Wan2.1-*-Diffusers vae/config.json
  static WanVAEConfig wan22();     // Wan-AI/Wan2.2-TI2V-5B-Diffusers vae/config.json
};

}  // namespace rayvid::models::wan_vae
