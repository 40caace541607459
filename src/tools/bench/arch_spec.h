// The Wan variants as numbers: what the cost planner and the architecture benchmark need to know
// about a model without its weights. Values from the diffusers configs (wan-family.md section 1).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/presets.h"

namespace rayvid::tools::bench {

struct ArchSpec {
  std::string name;           // "wan2.1-1.3b", ...
  std::string description;    // "Wan2.1 T2V-1.3B"
  int64_t dim = 0;            // DiT hidden size, e.g. 1536
  int64_t ffn_dim = 0;        // e.g. 8960
  int64_t heads = 0;          // e.g. 12 (head_dim 128)
  int64_t layers = 0;         // e.g. 30
  int64_t in_channels = 0;    // 16 (T2V), 36 (I2V: latent + mask + condition), 48 (TI2V)
  int64_t out_channels = 0;   // 16 or 48
  int64_t text_dim = 4096;    // umT5-XXL width
  int64_t text_tokens = 512;  // context length, padding included (never masked)
  int64_t image_tokens = 0;   // 257 CLIP tokens for Wan2.1 I2V, else 0
  int64_t image_dim = 0;      // 1280 for Wan2.1 I2V (CLIP ViT-H), else 0
  int64_t freq_dim = 256;
  int64_t patch = 2;           // spatial patch (temporal patch is 1)
  int64_t vae_stride = 8;      // spatial VAE stride: 8 (Wan2.1 VAE) or 16 (Wan2.2 VAE)
  std::string vae = "wan2.1";  // "wan2.1" or "wan2.2"
  int experts = 1;             // 2 for A14B (one active per step)
  int default_steps = 50;
  bool needs_clip = false;  // Wan2.1 I2V runs CLIP ViT-H once per request
  pipeline::PresetFamily presets;

  int64_t token_stride() const { return vae_stride * patch; }  // pixels per token side
};

std::vector<std::string> arch_names();
// kBadArgument listing the choices for an unknown name.
ArchSpec arch_spec(const std::string& name);

// Exact parameter count of one DiT (one expert), from the layer shapes.
int64_t dit_parameters(const ArchSpec& arch);

// Parameter counts of the encoders (wan-family.md section 1.3); the VAE's come from its config.
inline constexpr int64_t kUmt5XxlParameters = 5'680'910'336;
inline constexpr int64_t kClipVitHParameters = 632'076'800;

}  // namespace rayvid::tools::bench
