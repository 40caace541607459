// LoRA key grammar: see lora_keys.h.
#include "models/wan_dit/lora_keys.h"

#include <algorithm>
#include <string_view>

namespace rayvid::models::wan_dit {
namespace {

struct Prefix {
  std::string_view text;
  LoraFormat format;
};
// Longest first: "model.diffusion_model." before "diffusion_model.".
constexpr Prefix kPrefixes[] = {
    {"model.diffusion_model.", LoraFormat::kOriginal},
    {"diffusion_model.", LoraFormat::kOriginal},
    {"base_model.model.", LoraFormat::kRsLora},
    {"transformer.", LoraFormat::kDiffusers},
    {"lora_unet_", LoraFormat::kKohya},
    {"lycoris_", LoraFormat::kLycoris},
};

struct Suffix {
  std::string_view text;
  LoraRole role;
};
constexpr Suffix kSuffixes[] = {
    {".lora_A.weight", LoraRole::kDown}, {".lora_down.weight", LoraRole::kDown},
    {".lora_B.weight", LoraRole::kUp},   {".lora_up.weight", LoraRole::kUp},
    {".lora_B.bias", LoraRole::kUpBias}, {".alpha", LoraRole::kAlpha},
    {".diff_b", LoraRole::kDiffBias},    {".diff_m", LoraRole::kDiffModulation},
    {".diff", LoraRole::kDiff},
};

std::string_view strip_prefix(std::string_view key) {
  for (const Prefix& p : kPrefixes) {
    if (key.starts_with(p.text)) return key.substr(p.text.size());
  }
  return key;
}

}  // namespace

const char* lora_format_name(LoraFormat format) {
  switch (format) {
    case LoraFormat::kDiffusers:
      return "diffusers";
    case LoraFormat::kOriginal:
      return "original";
    case LoraFormat::kKohya:
      return "kohya";
    case LoraFormat::kLycoris:
      return "lycoris";
    case LoraFormat::kRsLora:
      return "rs-lora";
  }
  return "?";
}

bool lora_format_uses_underscores(LoraFormat format) {
  return format == LoraFormat::kKohya || format == LoraFormat::kLycoris;
}

bool lora_format_uses_original_names(LoraFormat format) { return format != LoraFormat::kDiffusers; }

std::optional<LoraFormat> detect_lora_format(const std::vector<std::string>& keys) {
  bool any_lora = false, original_names = false;
  for (const std::string& key : keys) {
    if (!split_lora_key(key)) continue;
    any_lora = true;
    for (const Prefix& p : kPrefixes) {
      if (std::string_view(key).starts_with(p.text)) return p.format;
    }
    // Bare keys: the module names tell the layouts apart.
    for (std::string_view word :
         {".self_attn.", ".cross_attn.", ".ffn.0.", ".ffn.2.", "head.head."})
      original_names = original_names || key.find(word) != std::string::npos;
  }
  if (!any_lora) return std::nullopt;
  return original_names ? LoraFormat::kOriginal : LoraFormat::kDiffusers;
}

std::optional<LoraKey> split_lora_key(const std::string& key) {
  const std::string_view rest = strip_prefix(key);
  for (const Suffix& s : kSuffixes) {
    if (rest.size() > s.text.size() && rest.ends_with(s.text))
      return LoraKey{std::string(rest.substr(0, rest.size() - s.text.size())), s.role};
  }
  return std::nullopt;
}

}  // namespace rayvid::models::wan_dit
