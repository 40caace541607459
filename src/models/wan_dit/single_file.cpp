#include "models/wan_dit/single_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "core/check.h"
#include "models/wan_dit/weight_names.h"

namespace rayvid::models::wan_dit {

const std::vector<std::string>& dit_file_prefixes() {
  static const std::vector<std::string> prefixes = {"model.diffusion_model.", "diffusion_model.",
                                                    "model."};
  return prefixes;
}

bool looks_like_wan_dit(const std::vector<std::string>& names) {
  auto has = [&](const std::string& canonical) {
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& n) { return wan_canonical_name(n) == canonical; });
  };
  return has("patch_embedding.weight") && has("scale_shift_table") &&
         has("blocks.0.scale_shift_table");
}

std::string dit_variant_name(const WanDiTConfig& c) {
  const bool clip = c.image_dim.has_value();
  std::string family;
  if (c.is_vace())
    family = "wan2.1-vace";
  else if (c.pos_embed_seq_len)
    family = "wan2.1-flf2v";
  else if (c.out_channels == 48)
    family = "wan2.2-ti2v";
  else if (c.in_channels == 36 && clip)
    family = "wan2.1-i2v";
  else if (c.in_channels == 36)
    family = "wan2.2-i2v-a14b";  // I2V without the CLIP branch: an A14B expert
  else
    family = "wan2.1-t2v";
  const std::string size = c.dim == 1536 && c.num_layers == 30   ? "1.3b"
                           : c.dim == 3072 && c.num_layers == 30 ? "5b"
                           : c.dim == 5120 && c.num_layers == 40 ? "14b"
                                                                 : "";
  if (size.empty())
    return fmt::format("custom ({} style, dim {}, {} layers)", family, c.dim, c.num_layers);
  if (family == "wan2.2-i2v-a14b") return size == "14b" ? "wan2.2-i2v-a14b (one expert)" : family;
  if (family == "wan2.1-t2v" && size == "14b")
    return "wan2.1-t2v-14b (or a wan2.2-t2v-a14b expert: the same shapes)";
  return family + "-" + size;
}

DiTFile open_dit_file(const std::filesystem::path& file, int64_t head_dim) {
  CheckpointSource source = CheckpointSource::open(file, dit_file_prefixes());
  const auto names = source.names();
  if (!looks_like_wan_dit(names)) {
    std::vector<std::string> first;
    for (size_t i = 0; i < std::min<size_t>(names.size(), 4); ++i)
      first.push_back(fmt::format("{} [{}]", names[i], fmt::join(*source.shape(names[i]), ", ")));
    fail(ErrorCategory::kBadInput,
         "{}: not a Wan DiT in a layout rayvid reads (first tensors: {}); rayvid reads the "
         "original Wan names (blocks.0.self_attn.q.weight, head.modulation; bare or under "
         "model.diffusion_model.) and diffusers names (blocks.0.attn1.to_q.weight), in fp32, "
         "fp16, bf16 or fp8 (scaled or not)",
         file.string(),
         first.empty() ? std::string("none") : fmt::format("{}", fmt::join(first, ", ")));
  }
  WanDiTConfig config = WanDiTConfig::detect(source, head_dim);
  config.validate(file.string());
  DiTFile out{std::move(source), config, dit_variant_name(config),
              is_wan_original_checkpoint(names) ? "original Wan names" : "diffusers names"};
  return out;
}

}  // namespace rayvid::models::wan_dit
