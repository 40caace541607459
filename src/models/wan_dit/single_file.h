// A Wan DiT in one safetensors file, as users download it (ComfyUI's split_files, Kijai's, the
// original releases): opened through CheckpointSource (prefixes stripped, fp8 dequantized), the
// architecture detected from tensor shapes and key presence, and the published variant named.
#pragma once

#include <filesystem>
#include <string>

#include "models/checkpoint_source.h"
#include "models/wan_dit/config.h"

namespace rayvid::models::wan_dit {

// The wrappers single-file DiTs carry: ComfyUI's `model.diffusion_model.`, musubi's
// `diffusion_model.`, and a bare `model.` (WanVideoWrapper strips it too).
const std::vector<std::string>& dit_file_prefixes();

struct DiTFile {
  CheckpointSource source;
  WanDiTConfig config;
  std::string variant;  // "wan2.1-t2v-14b", ..., or "custom (...)"
  std::string layout;   // "original Wan names" or "diffusers names"
};

// kBadInput when the file is not a Wan DiT in a layout rayvid reads: names the first tensors
// (with shapes) and the layouts it reads. Every released Wan DiT has head_dim 128.
DiTFile open_dit_file(const std::filesystem::path& file, int64_t head_dim = 128);

// True when the names are a Wan DiT's (either layout), after prefix stripping.
bool looks_like_wan_dit(const std::vector<std::string>& names);

// The published variant these shapes are, or "custom (...)". A Wan2.2 T2V-A14B expert has
// exactly Wan2.1 T2V-14B's shapes; the name says so.
std::string dit_variant_name(const WanDiTConfig& config);

}  // namespace rayvid::models::wan_dit
