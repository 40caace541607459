// WanDiTConfig: JSON parsing (both dialects), detection from shapes, presets, validation.
#include "models/wan_dit/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "core/check.h"
#include "models/config_limits.h"
#include "models/wan_dit/weight_names.h"

namespace rayvid::models::wan_dit {
namespace {

constexpr int64_t kWanHeadDim = 128;  // every published Wan variant
constexpr int64_t kClipWidth = 1280;  // CLIP ViT-H/14 hidden size (Wan2.1 I2V, FLF2V)
constexpr int64_t kFlf2vImageTokens = 514;

// Both dialects may carry "patch_size" (the original repos usually omit it: (1, 2, 2)).
void read_patch_size(const io::JsonFile& json, WanDiTConfig& c) {
  if (!json.has("patch_size")) return;
  const auto patch = json.require<std::vector<int64_t>>("patch_size");
  RAYVID_CHECK(patch.size() == 3, BadInput, "{}: patch_size should have 3 entries, got {}",
               json.label(), patch.size());
  c.patch_size = {patch[0], patch[1], patch[2]};
}

WanDiTConfig from_diffusers_json(const io::JsonFile& json) {
  WanDiTConfig c;
  read_patch_size(json, c);
  c.num_attention_heads = json.get_or<int64_t>("num_attention_heads", 40);
  const int64_t head_dim = json.get_or<int64_t>("attention_head_dim", kWanHeadDim);
  // Checked before the product, so the error names the field the file has.
  check_size(json.label(), "num_attention_heads", c.num_attention_heads, kMaxConfigHeads);
  check_size(json.label(), "attention_head_dim", head_dim, 4096);
  c.dim = c.num_attention_heads * head_dim;
  c.in_channels = json.get_or<int64_t>("in_channels", 16);
  // diffusers: `out_channels = out_channels or in_channels`
  c.out_channels = json.get_optional<int64_t>("out_channels").value_or(c.in_channels);
  c.text_dim = json.get_or<int64_t>("text_dim", 4096);
  c.freq_dim = json.get_or<int64_t>("freq_dim", 256);
  c.ffn_dim = json.get_or<int64_t>("ffn_dim", 13824);
  c.num_layers = json.get_or<int64_t>("num_layers", 40);
  c.cross_attn_norm = json.get_or<bool>("cross_attn_norm", true);
  c.eps = json.get_or<double>("eps", 1e-6);
  c.image_dim = json.get_optional<int64_t>("image_dim");
  c.added_kv_proj_dim = json.get_optional<int64_t>("added_kv_proj_dim");
  c.pos_embed_seq_len = json.get_optional<int64_t>("pos_embed_seq_len");
  c.rope_max_seq_len = json.get_or<int64_t>("rope_max_seq_len", 1024);
  if (json.has("vace_layers")) {
    c.vace_layers = json.require<std::vector<int64_t>>("vace_layers");
    c.vace_in_channels = json.get_or<int64_t>("vace_in_channels", 96);
  }
  return c;
}

// Original Wan config.json (`WanModel`): dim/num_heads/in_dim/out_dim/model_type. Fields the
// original repos never store (patch_size, text_dim, cross_attn_norm) take the WanModel defaults.
WanDiTConfig from_original_json(const io::JsonFile& json) {
  WanDiTConfig c;
  read_patch_size(json, c);
  c.dim = json.require<int64_t>("dim");
  c.num_attention_heads = json.require<int64_t>("num_heads");
  c.in_channels = json.require<int64_t>("in_dim");
  c.out_channels = json.require<int64_t>("out_dim");
  c.text_dim = json.get_or<int64_t>("text_dim", 4096);
  c.freq_dim = json.get_or<int64_t>("freq_dim", 256);
  c.ffn_dim = json.require<int64_t>("ffn_dim");
  c.num_layers = json.require<int64_t>("num_layers");
  c.cross_attn_norm = json.get_or<bool>("cross_attn_norm", true);
  c.eps = json.get_or<double>("eps", 1e-6);
  const auto model_type = json.get_or<std::string>("model_type", "t2v");
  // Wan2.1 i2v/flf2v carry CLIP image tokens. Wan2.2 I2V-A14B also says "i2v" but has no image
  // path; WanDiT::load settles that from the checkpoint's tensors.
  if (model_type == "i2v" || model_type == "flf2v") {
    c.image_dim = kClipWidth;
    c.added_kv_proj_dim = c.dim;
  }
  if (model_type == "flf2v") c.pos_embed_seq_len = kFlf2vImageTokens;
  if (json.has("vace_layers")) {  // VaceWanModel: vace_layers, vace_in_dim
    c.vace_layers = json.require<std::vector<int64_t>>("vace_layers");
    c.vace_in_channels = json.get_or<int64_t>("vace_in_dim", c.in_channels);
  }
  return c;
}

}  // namespace

WanDiTConfig WanDiTConfig::from_json(const io::JsonFile& json) {
  const bool original = json.has("num_heads") || json.has("dim");
  WanDiTConfig config = original ? from_original_json(json) : from_diffusers_json(json);
  config.validate(json.label());
  return config;
}

WanDiTConfig WanDiTConfig::load(const std::filesystem::path& component_dir) {
  return from_json(io::JsonFile::load(component_dir / "config.json"));
}

nlohmann::json WanDiTConfig::to_diffusers_json() const {
  auto opt = [](const std::optional<int64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  nlohmann::json j = {
      {"_class_name", is_vace() ? "WanVACETransformer3DModel" : "WanTransformer3DModel"},
      {"patch_size", patch_size},
      {"num_attention_heads", num_attention_heads},
      {"attention_head_dim", attention_head_dim()},
      {"in_channels", in_channels},
      {"out_channels", out_channels},
      {"text_dim", text_dim},
      {"freq_dim", freq_dim},
      {"ffn_dim", ffn_dim},
      {"num_layers", num_layers},
      {"cross_attn_norm", cross_attn_norm},
      {"qk_norm", "rms_norm_across_heads"},
      {"eps", eps},
      {"image_dim", opt(image_dim)},
      {"added_kv_proj_dim", opt(added_kv_proj_dim)},
      {"rope_max_seq_len", rope_max_seq_len},
      {"pos_embed_seq_len", opt(pos_embed_seq_len)}};
  if (is_vace()) {
    j["vace_layers"] = vace_layers;
    j["vace_in_channels"] = vace_in_channels;
  }
  return j;
}

WanDiTConfig WanDiTConfig::detect(const WeightSource& source, int64_t head_dim) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& name : source.names()) shapes[wan_canonical_name(name)] = *source.shape(name);
  auto shape_of = [&](const std::string& name) -> const std::vector<int64_t>& {
    auto it = shapes.find(name);
    RAYVID_CHECK(it != shapes.end(), BadInput,
                 "{}: not a Wan DiT checkpoint (no tensor {} or its original-Wan name)",
                 source.label(), name);
    return it->second;
  };
  WanDiTConfig c;
  const auto& patch = shape_of("patch_embedding.weight");  // [dim, in, pt, ph, pw]
  RAYVID_CHECK(patch.size() == 5, BadInput, "{}: patch_embedding.weight should be 5-D, got [{}]",
               source.label(), fmt::join(patch, ", "));
  c.dim = patch[0];
  c.in_channels = patch[1];
  c.patch_size = {patch[2], patch[3], patch[4]};
  c.num_attention_heads = c.dim / head_dim;
  c.text_dim = shape_of("condition_embedder.text_embedder.linear_1.weight")[1];
  c.freq_dim = shape_of("condition_embedder.time_embedder.linear_1.weight")[1];
  c.ffn_dim = shape_of("blocks.0.ffn.net.0.proj.weight")[0];
  c.out_channels = shape_of("proj_out.weight")[0] / (patch[2] * patch[3] * patch[4]);
  c.num_layers = 0;
  while (shapes.count(fmt::format("blocks.{}.scale_shift_table", c.num_layers))) ++c.num_layers;
  c.cross_attn_norm = shapes.count("blocks.0.norm2.weight") != 0;
  if (shapes.count("condition_embedder.image_embedder.norm1.weight")) {
    c.image_dim = shape_of("condition_embedder.image_embedder.norm1.weight")[0];
    c.added_kv_proj_dim = shape_of("blocks.0.attn2.add_k_proj.weight")[1];
    if (shapes.count("condition_embedder.image_embedder.pos_embed"))
      c.pos_embed_seq_len = shape_of("condition_embedder.image_embedder.pos_embed")[1];
  }
  if (shapes.count("vace_patch_embedding.weight")) {
    // Shapes give the VACE blocks' count, not where their hints go: every release spaces them
    // evenly from block 0 (30 layers / 15 blocks, 40 / 8), which is what this assumes.
    c.vace_in_channels = shape_of("vace_patch_embedding.weight")[1];
    int64_t n = 0;
    while (shapes.count(fmt::format("vace_blocks.{}.scale_shift_table", n))) ++n;
    RAYVID_CHECK(n > 0 && c.num_layers % n == 0, BadInput,
                 "{}: {} VACE blocks do not divide {} layers evenly; give the config.json with "
                 "vace_layers",
                 source.label(), n, c.num_layers);
    for (int64_t k = 0; k < n; ++k) c.vace_layers.push_back(k * (c.num_layers / n));
  }
  c.validate(source.label());
  return c;
}

std::vector<std::string> WanDiTConfig::preset_names() {
  return {"wan2.1-t2v-1.3b",  "wan2.1-t2v-14b",   "wan2.1-i2v-14b",
          "wan2.1-flf2v-14b", "wan2.1-vace-1.3b", "wan2.1-vace-14b",
          "wan2.2-ti2v-5b",   "wan2.2-t2v-a14b",  "wan2.2-i2v-a14b"};
}

WanDiTConfig WanDiTConfig::preset(std::string_view name) {
  WanDiTConfig c;  // the defaults are the 14B T2V architecture
  if (name == "wan2.1-t2v-14b" || name == "wan2.2-t2v-a14b") return c;
  if (name == "wan2.1-t2v-1.3b" || name == "wan2.1-vace-1.3b") {
    c.dim = 1536, c.num_attention_heads = 12, c.ffn_dim = 8960, c.num_layers = 30;
    if (name == "wan2.1-vace-1.3b") {  // hints after every second block: 15 VACE blocks
      for (int64_t i = 0; i < 30; i += 2) c.vace_layers.push_back(i);
      c.vace_in_channels = 96;
    }
    return c;
  }
  if (name == "wan2.1-vace-14b") {  // hints after every fifth block: 8 VACE blocks
    for (int64_t i = 0; i < 40; i += 5) c.vace_layers.push_back(i);
    c.vace_in_channels = 96;
    return c;
  }
  if (name == "wan2.2-ti2v-5b") {
    c.dim = 3072, c.num_attention_heads = 24, c.ffn_dim = 14336, c.num_layers = 30;
    c.in_channels = 48, c.out_channels = 48;
    return c;
  }
  if (name == "wan2.2-i2v-a14b") {
    c.in_channels = 36;
    return c;
  }
  if (name == "wan2.1-i2v-14b" || name == "wan2.1-flf2v-14b") {
    c.in_channels = 36, c.image_dim = kClipWidth, c.added_kv_proj_dim = c.dim;
    if (name == "wan2.1-flf2v-14b") c.pos_embed_seq_len = kFlf2vImageTokens;
    return c;
  }
  fail(ErrorCategory::kBadArgument, "unknown Wan DiT preset '{}'; known: {}", name,
       fmt::join(preset_names(), ", "));
}

void WanDiTConfig::validate(const std::string& where) const {
  if (is_vace()) {
    check_size(where, "vace_in_channels", vace_in_channels, kMaxConfigWidth);
    RAYVID_CHECK(
        vace_layers.front() == 0 && std::is_sorted(vace_layers.begin(), vace_layers.end()) &&
            std::adjacent_find(vace_layers.begin(), vace_layers.end()) == vace_layers.end() &&
            vace_layers.back() < num_layers,
        BadInput, "{}: vace_layers [{}] must start at 0, increase, and stay below num_layers {}",
        where, fmt::join(vace_layers, ", "), num_layers);
    RAYVID_CHECK(!image_dim.has_value(), BadInput,
                 "{}: a VACE transformer has no image tokens (image_dim must be null)", where);
  }
  check_size(where, "num_attention_heads", num_attention_heads, kMaxConfigHeads);
  check_size(where, "dim", dim, kMaxConfigWidth);
  RAYVID_CHECK(dim % num_attention_heads == 0, BadInput,
               "{}: dim {} is not divisible by num_attention_heads {}", where, dim,
               num_attention_heads);
  const int64_t head_dim = attention_head_dim();
  RAYVID_CHECK(head_dim % 2 == 0 && head_dim >= 6, BadInput,
               "{}: attention_head_dim {} must be even and at least 6 (3D RoPE splits it over "
               "frames, rows and columns)",
               where, head_dim);
  for (int64_t p : patch_size) check_size(where, "patch_size entry", p, 64);
  check_size(where, "in_channels", in_channels, kMaxConfigWidth);
  check_size(where, "out_channels", out_channels, kMaxConfigWidth);
  check_size(where, "text_dim", text_dim, kMaxConfigWidth);
  check_size(where, "ffn_dim", ffn_dim, kMaxConfigWidth);
  check_size(where, "num_layers", num_layers, kMaxConfigLayers);
  check_size(where, "rope_max_seq_len", rope_max_seq_len, int64_t{1} << 20);
  check_size(where, "freq_dim", freq_dim, kMaxConfigWidth);
  RAYVID_CHECK(freq_dim % 2 == 0, BadInput, "{}: freq_dim {} must be even (cos and sin halves)",
               where, freq_dim);
  check_positive_real(where, "eps", eps, 1.0);
  RAYVID_CHECK(image_dim.has_value() == added_kv_proj_dim.has_value(), BadInput,
               "{}: image_dim and added_kv_proj_dim must be set together (Wan2.1 I2V/FLF2V) or "
               "both be null",
               where);
  if (image_dim) {
    check_size(where, "image_dim", *image_dim, kMaxConfigWidth);
    RAYVID_CHECK(*added_kv_proj_dim == dim, BadInput,
                 "{}: added_kv_proj_dim {} must equal dim {} (the image embedder projects CLIP "
                 "tokens to dim)",
                 where, *added_kv_proj_dim, dim);
  }
  if (pos_embed_seq_len) {
    RAYVID_CHECK(image_dim.has_value(), BadInput,
                 "{}: pos_embed_seq_len needs image_dim (FLF2V image tokens)", where);
    RAYVID_CHECK(
        *pos_embed_seq_len > 0 && *pos_embed_seq_len <= 65536 && *pos_embed_seq_len % 2 == 0,
        BadInput,
        "{}: pos_embed_seq_len {} must be positive and even (first and last frame "
        "tokens)",
        where, *pos_embed_seq_len);
  }
}

std::string WanDiTConfig::summary() const {
  return fmt::format("dim {}, {} layers, {} heads, ffn {}, in {}, out {}{}{}", dim, num_layers,
                     num_attention_heads, ffn_dim, in_channels, out_channels,
                     image_dim ? fmt::format(", image tokens {}", *image_dim) : "",
                     is_vace() ? fmt::format(", VACE {} blocks (control {} channels)",
                                             vace_layers.size(), vace_in_channels)
                               : "");
}

}  // namespace rayvid::models::wan_dit
