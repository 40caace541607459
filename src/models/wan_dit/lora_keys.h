// The key grammar of LoRA files for the Wan DiT (formats: lora.h): which format a file is in, and
// what one key is (the module it names, as written, and its role).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rayvid::models::wan_dit {

enum class LoraFormat { kDiffusers, kOriginal, kKohya, kLycoris, kRsLora };
const char* lora_format_name(LoraFormat format);

// Underscore formats (kohya, LyCORIS) spell the module with '_' for '.'.
bool lora_format_uses_underscores(LoraFormat format);
// Formats that name modules as the original Wan checkpoints do (self_attn.q, ffn.0, ...).
bool lora_format_uses_original_names(LoraFormat format);

// From the key prefixes: lora_unet_ (kohya), lycoris_, base_model.model. (rs-LoRA),
// [model.]diffusion_model. (original), transformer. (diffusers); bare keys by their module names.
// std::nullopt when no key has a LoRA suffix.
std::optional<LoraFormat> detect_lora_format(const std::vector<std::string>& keys);

enum class LoraRole {
  kDown,            // lora_A.weight / lora_down.weight
  kUp,              // lora_B.weight / lora_up.weight
  kUpBias,          // lora_B.bias (diffusers' form of a bias delta)
  kAlpha,           // .alpha
  kDiff,            // .diff: full weight delta (or of the parameter the module is)
  kDiffBias,        // .diff_b: bias delta
  kDiffModulation,  // .diff_m: delta of the module's modulation table
};

struct LoraKey {
  std::string module;  // prefix stripped, as written ("blocks.0.self_attn.q", "blocks_0_ffn_0")
  LoraRole role;
};

// Splits a key of a file in `format`; std::nullopt for a key with no known LoRA suffix.
std::optional<LoraKey> split_lora_key(const std::string& key);

}  // namespace rayvid::models::wan_dit
