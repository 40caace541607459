// The one translation table between checkpoint dialects of the Wan DiT. diffusers names
// (WanTransformer3DModel state_dict) are canonical; original Wan checkpoints (Wan-AI/Wan2.x repos,
// `blocks.0.self_attn.q.weight`) are translated to them when loading.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rayvid::models::wan_dit {

// The diffusers name of an original Wan tensor name, or std::nullopt when `name` is not an
// original Wan name (diffusers names, unknown names).
std::optional<std::string> wan_original_to_diffusers(const std::string& name);

// The original Wan name of a diffusers tensor name (the same table read backwards), or
// std::nullopt when `name` is not a diffusers DiT name.
std::optional<std::string> wan_diffusers_to_original(const std::string& name);

// True when the names look like an original Wan checkpoint (`blocks.0.self_attn.q.weight`, ...).
bool is_wan_original_checkpoint(const std::vector<std::string>& names);

// The canonical (diffusers) form of any checkpoint name: translated if original, else unchanged.
std::string wan_canonical_name(const std::string& name);

}  // namespace rayvid::models::wan_dit
