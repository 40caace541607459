// WanDiTConfig: the architecture of a Wan diffusion transformer (diffusers
// WanTransformer3DModel), read from transformer/config.json (diffusers fields) or from an
// original Wan config.json (WanModel fields), detected from tensor shapes, or taken from a preset.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/json_file.h"
#include "models/weights.h"

namespace rayvid::models::wan_dit {

struct WanDiTConfig {
  std::array<int64_t, 3> patch_size = {1, 2, 2};  // latent (frames, rows, columns) per token
  int64_t dim = 5120;                             // hidden size: 1536 (1.3B), 3072 (5B), 5120 (14B)
  int64_t num_attention_heads = 40;  // 12 (1.3B), 24 (5B), 40 (14B); head_dim = dim / heads = 128
  int64_t in_channels = 16;          // 16 (T2V), 36 (I2V: latent 16 + mask 4 + image 16), 48 (TI2V)
  int64_t out_channels = 16;         // 16, 48 (TI2V)
  int64_t text_dim = 4096;           // umT5-XXL hidden size
  int64_t freq_dim = 256;            // sinusoidal timestep embedding size
  int64_t ffn_dim = 13824;           // 8960 (1.3B), 14336 (5B), 13824 (14B)
  int64_t num_layers = 40;           // 30 (1.3B, 5B), 40 (14B)
  bool cross_attn_norm = true;       // affine LayerNorm before cross-attention
  double eps = 1e-6;                 // LayerNorm and RMSNorm epsilon
  std::optional<int64_t> image_dim;  // 1280: CLIP ViT-H tokens (Wan2.1 I2V, FLF2V)
  std::optional<int64_t> added_kv_proj_dim;  // 5120 (= dim): image key/value input size
  std::optional<int64_t> pos_embed_seq_len;  // 514: FLF2V image positions (2 x 257 tokens)
  int64_t rope_max_seq_len = 1024;           // RoPE positions per axis
  // Wan2.1 VACE (diffusers WanVACETransformer3DModel): the main blocks after which VACE hint k is
  // added ({0, 2, ..., 28} for 1.3B, {0, 5, ..., 35} for 14B; one VACE block per entry), and the
  // control input's channels (96: inactive 16 + reactive 16 + an 8x8 mask 64). Empty: not VACE.
  std::vector<int64_t> vace_layers;
  int64_t vace_in_channels = 0;

  int64_t attention_head_dim() const { return dim / num_attention_heads; }  // 128
  bool has_image_input() const { return image_dim.has_value(); }
  bool is_vace() const { return !vace_layers.empty(); }

  // A component folder's config.json; diffusers fields ("num_attention_heads") or original Wan
  // fields ("dim", "num_heads", "model_type"). Validated.
  static WanDiTConfig from_json(const io::JsonFile& json);
  static WanDiTConfig load(const std::filesystem::path& component_dir);
  // The diffusers config.json fields (what from_json reads back to an equal config).
  nlohmann::json to_diffusers_json() const;
  // The architecture implied by a checkpoint's tensor names and shapes (either naming dialect).
  // Shapes do not tell the head count: head_dim is 128 in every published Wan variant.
  static WanDiTConfig detect(const WeightSource& source, int64_t head_dim = 128);
  // "wan2.1-t2v-1.3b", "wan2.1-t2v-14b", "wan2.1-i2v-14b", "wan2.1-flf2v-14b", "wan2.1-vace-1.3b",
  // "wan2.1-vace-14b", "wan2.2-ti2v-5b",
  // "wan2.2-t2v-a14b", "wan2.2-i2v-a14b".
  static WanDiTConfig preset(std::string_view name);
  static std::vector<std::string> preset_names();

  // kBadInput with "[WanDiTConfig] ..." messages for configs the model cannot run.
  // `where` names the source in errors (the config file, or the checkpoint it was detected from).
  void validate(const std::string& where = "[WanDiTConfig]") const;

  bool operator==(const WanDiTConfig&) const = default;
  std::string summary() const;  // "dim 1536, 30 layers, 12 heads, ffn 8960, in 16, out 16"
};

}  // namespace rayvid::models::wan_dit
