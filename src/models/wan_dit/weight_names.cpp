// Original Wan -> diffusers tensor names for the DiT. Derived from the module trees of
// Wan2.1/Wan2.2 wan/modules/model.py (WanModel) and diffusers' WanTransformer3DModel, as done by
// diffusers' scripts/convert_wan_to_diffusers.py. Original `norm1`/`norm2` (and diffusers
// `norm1`/`norm3`) have no parameters; the original cross-attention LayerNorm is `norm3`.
#include "models/wan_dit/weight_names.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace rayvid::models::wan_dit {
namespace {

struct NameRule {
  std::string_view original;  // a prefix ending in '.' or a whole name
  std::string_view diffusers;
};

// Model-level tensors.
constexpr NameRule kModelRules[] = {
    {"text_embedding.0.", "condition_embedder.text_embedder.linear_1."},
    {"text_embedding.2.", "condition_embedder.text_embedder.linear_2."},
    {"time_embedding.0.", "condition_embedder.time_embedder.linear_1."},
    {"time_embedding.2.", "condition_embedder.time_embedder.linear_2."},
    {"time_projection.1.", "condition_embedder.time_proj."},
    {"img_emb.proj.0.", "condition_embedder.image_embedder.norm1."},          // LayerNorm(1280)
    {"img_emb.proj.1.", "condition_embedder.image_embedder.ff.net.0.proj."},  // Linear 1280->1280
    {"img_emb.proj.3.", "condition_embedder.image_embedder.ff.net.2."},       // Linear 1280->dim
    {"img_emb.proj.4.", "condition_embedder.image_embedder.norm2."},          // LayerNorm(dim)
    {"img_emb.emb_pos", "condition_embedder.image_embedder.pos_embed"},       // FLF2V
    {"head.head.", "proj_out."},
    {"head.modulation", "scale_shift_table"},
    {"vace_patch_embedding.", "vace_patch_embedding."},  // VACE: the same name in both
};

// Tensors inside `blocks.<i>.`.
constexpr NameRule kBlockRules[] = {
    {"modulation", "scale_shift_table"},
    {"self_attn.q.", "attn1.to_q."},
    {"self_attn.k.", "attn1.to_k."},
    {"self_attn.v.", "attn1.to_v."},
    {"self_attn.o.", "attn1.to_out.0."},
    {"self_attn.norm_q.", "attn1.norm_q."},
    {"self_attn.norm_k.", "attn1.norm_k."},
    {"cross_attn.q.", "attn2.to_q."},
    {"cross_attn.k.", "attn2.to_k."},
    {"cross_attn.v.", "attn2.to_v."},
    {"cross_attn.o.", "attn2.to_out.0."},
    {"cross_attn.norm_q.", "attn2.norm_q."},
    {"cross_attn.norm_k.", "attn2.norm_k."},
    {"cross_attn.k_img.", "attn2.add_k_proj."},
    {"cross_attn.v_img.", "attn2.add_v_proj."},
    {"cross_attn.norm_k_img.", "attn2.norm_added_k."},
    {"norm3.", "norm2."},
    {"ffn.0.", "ffn.net.0.proj."},
    {"ffn.2.", "ffn.net.2."},
};

// The rules read in either direction: from the original name to the diffusers one, or back.
enum class Direction { kToDiffusers, kToOriginal };

std::optional<std::string> apply_rules(std::string_view name, const NameRule* begin,
                                       const NameRule* end, Direction direction) {
  for (const NameRule* rule = begin; rule != end; ++rule) {
    const bool forward = direction == Direction::kToDiffusers;
    const std::string_view from = forward ? rule->original : rule->diffusers;
    const std::string_view to = forward ? rule->diffusers : rule->original;
    const bool prefix = from.ends_with('.');
    if (prefix ? name.starts_with(from) : name == from)
      return std::string(to) + std::string(name.substr(from.size()));
  }
  return std::nullopt;
}

// Tensors only VACE blocks have (inside `vace_blocks.<k>.`); the rest are kBlockRules.
constexpr NameRule kVaceBlockRules[] = {
    {"before_proj.", "proj_in."},
    {"after_proj.", "proj_out."},
};

std::optional<std::string> translate(const std::string& name, Direction direction) {
  for (const std::string_view prefix : {"blocks.", "vace_blocks."}) {
    if (!std::string_view(name).starts_with(prefix)) continue;
    const size_t digits_end = name.find('.', prefix.size());
    if (digits_end == std::string::npos || digits_end == prefix.size()) return std::nullopt;
    const std::string_view index(name.data() + prefix.size(), digits_end - prefix.size());
    if (!std::all_of(index.begin(), index.end(), [](char c) { return std::isdigit(c) != 0; }))
      return std::nullopt;
    const std::string_view tail = std::string_view(name).substr(digits_end + 1);
    auto rest = apply_rules(tail, std::begin(kBlockRules), std::end(kBlockRules), direction);
    if (!rest && prefix == "vace_blocks.")
      rest = apply_rules(tail, std::begin(kVaceBlockRules), std::end(kVaceBlockRules), direction);
    if (!rest) return std::nullopt;
    return name.substr(0, digits_end + 1) + *rest;
  }
  return apply_rules(name, std::begin(kModelRules), std::end(kModelRules), direction);
}

}  // namespace

std::optional<std::string> wan_original_to_diffusers(const std::string& name) {
  return translate(name, Direction::kToDiffusers);
}

std::optional<std::string> wan_diffusers_to_original(const std::string& name) {
  return translate(name, Direction::kToOriginal);
}

bool is_wan_original_checkpoint(const std::vector<std::string>& names) {
  return std::any_of(names.begin(), names.end(), [](const std::string& name) {
    return name.starts_with("head.head.") || name.starts_with("time_embedding.0.");
  });
}

std::string wan_canonical_name(const std::string& name) {
  return wan_original_to_diffusers(name).value_or(name);
}

}  // namespace rayvid::models::wan_dit
