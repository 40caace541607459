// CLIP vision tower configuration (transformers CLIPVisionConfig, from image_encoder/config.json,
// either top-level or under "vision_config") and the image processor settings
// (transformers CLIPImageProcessor, from image_processor/preprocessor_config.json).
#pragma once

#include <array>
#include <filesystem>
#include <string>

#include "io/json_file.h"

namespace rayvid::models::clip {

enum class ClipAct { kGelu, kQuickGelu };

struct CLIPVisionConfig {
  int64_t hidden_size = 1280;        // ViT-H/14 width
  int64_t intermediate_size = 5120;  // MLP width
  int64_t num_hidden_layers = 32;    // transformer blocks
  int64_t num_attention_heads = 16;  // heads (head dim 80)
  int64_t num_channels = 3;          // RGB
  int64_t image_size = 224;          // square input side
  int64_t patch_size = 14;           // 224 / 14 = 16 patches per side -> 256 + CLS = 257 tokens
  int64_t projection_dim = 1024;     // visual_projection rows (unused by Wan; loaded strictly)
  double layer_norm_eps = 1e-5;
  std::string hidden_act = "gelu";  // exact GELU for laion ViT-H/14 ("quick_gelu" for OpenAI)
  ClipAct act = ClipAct::kGelu;
  bool has_projection = true;  // CLIPVisionModelWithProjection (visual_projection.weight)

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  int64_t num_patches() const { return (image_size / patch_size) * (image_size / patch_size); }
  int64_t num_positions() const { return num_patches() + 1; }

  // `json` is image_encoder/config.json; `architectures` decides has_projection.
  static CLIPVisionConfig from_json(const io::JsonFile& json);
  static CLIPVisionConfig load(const std::filesystem::path& component_dir);
  static CLIPVisionConfig vit_h_14();  // laion/CLIP-ViT-H-14-laion2B-s32B-b79K, the Wan I2V one
  nlohmann::json to_json() const;      // the transformers config.json fields from_json reads
  void validate(const std::string& where) const;  // `where`: the file, in errors
  std::string summary() const;
};

enum class Resample { kBilinear, kBicubic };

struct CLIPImageProcessorConfig {
  bool do_convert_rgb = true;
  bool do_resize = true;
  int64_t shortest_edge = 224;  // size {"shortest_edge": N}; 0 when size is height/width
  int64_t resize_height = 0;    // size {"height", "width"} (exact size, aspect not kept)
  int64_t resize_width = 0;
  Resample resample = Resample::kBicubic;  // PIL resample code 3 (2 = bilinear)
  bool do_center_crop = true;
  int64_t crop_height = 224;
  int64_t crop_width = 224;
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  std::array<double, 3> image_mean{0.48145466, 0.4578275, 0.40821073};
  std::array<double, 3> image_std{0.26862954, 0.26130258, 0.27577711};

  static CLIPImageProcessorConfig from_json(const io::JsonFile& json);
  static CLIPImageProcessorConfig load(const std::filesystem::path& component_dir);
  void validate(const std::string& where) const;  // `where`: the file, in errors
  std::string summary() const;
};

}  // namespace rayvid::models::clip
