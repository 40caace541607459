// The memory table: see memory_table.h.
#include "tools/bench/memory_table.h"

#include <fmt/format.h>

#include "core/check.h"
#include "models/wan_dit/config.h"
#include "models/wan_dit/weights.h"
#include "models/wan_vae/config.h"
#include "tools/bench/arch_spec.h"

namespace rayvid::tools::bench {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

}  // namespace

std::vector<std::string> memory_table_variants() {
  return {"wan2.1-t2v-1.3b", "wan2.1-t2v-14b",  "wan2.1-i2v-14b",
          "wan2.2-ti2v-5b",  "wan2.2-t2v-a14b", "wan2.2-i2v-a14b"};
}

engine::ModelMemoryFacts published_memory_facts(const std::string& variant) {
  const auto names = memory_table_variants();
  RAYVID_CHECK(std::find(names.begin(), names.end(), variant) != names.end(), BadArgument,
               "no memory facts for {}", variant);
  const models::wan_dit::WanDiTConfig dit = models::wan_dit::WanDiTConfig::preset(variant);
  engine::ModelMemoryFacts m;
  for (const auto& [name, shape] : models::wan_dit::weight_shapes(dit)) {
    double n = 1;
    for (int64_t d : shape) n *= static_cast<double>(d);
    m.dit_parameters += n;
  }
  m.dit_fp8_storable = static_cast<double>(models::wan_dit::fp8_storable_parameters(dit));
  m.experts = variant.find("a14b") != std::string::npos ? 2 : 1;
  m.dit_dim = dit.dim, m.dit_ffn = dit.ffn_dim, m.dit_layers = dit.num_layers;
  const bool wan22_vae = variant == "wan2.2-ti2v-5b";
  m.vae =
      wan22_vae ? models::wan_vae::WanVAEConfig::wan22() : models::wan_vae::WanVAEConfig::wan21();
  m.token_stride = m.vae.scale_factor_spatial * dit.patch_size[1];
  m.text_encoder_parameters = static_cast<double>(kUmt5XxlParameters);
  if (dit.image_dim) {  // Wan2.1 I2V: CLIP ViT-H and its 257 tokens
    m.image_encoder_parameters = static_cast<double>(kClipVitHParameters);
    m.image_tokens = 257;
  }
  return m;
}

std::vector<MemoryTableRow> memory_table(bool fp8_weights) {
  std::vector<MemoryTableRow> rows;
  for (const std::string& variant : memory_table_variants()) {
    const engine::ModelMemoryFacts facts = published_memory_facts(variant);
    const auto family = variant == "wan2.2-ti2v-5b" ? pipeline::preset_family_ti2v()
                                                    : pipeline::preset_family_wan21();
    for (const std::string resolution : {"540p", "720p", "1080p"}) {
      for (const std::string duration : {"5s", "10s"}) {
        MemoryTableRow row{variant,  resolution,
                           duration, pipeline::resolve_preset(family, "16:9", resolution, duration),
                           {},       {},
                           {}};
        engine::MemorySettings s;
        s.dtype_bytes = 2, s.gpu = true, s.guided = true, s.fp8_storage = fp8_weights;
        s.profile = engine::MemoryProfile::kMax;
        row.max = engine::estimate_memory(facts, row.shape, s);
        s.profile = engine::MemoryProfile::kBalanced;
        row.balanced = engine::estimate_memory(facts, row.shape, s);
        s.profile = engine::MemoryProfile::kLow;
        row.low = engine::estimate_memory(facts, row.shape, s);
        rows.push_back(row);
      }
    }
  }
  return rows;
}

std::string memory_table_markdown(const std::vector<MemoryTableRow>& rows) {
  auto cell = [](const engine::MemoryEstimate& e) {
    return fmt::format("{:.1f} / {:.1f}", e.device_peak / kGiB, e.host_peak / kGiB);
  };
  std::string out =
      "| variant | size (16:9) | frames | max | balanced | low |\n"
      "|---|---|---|---|---|---|\n";
  for (const MemoryTableRow& r : rows)
    out += fmt::format("| {} | {} {}x{} | {} ({}) | {} | {} | {} |\n", r.variant, r.resolution,
                       r.shape.width, r.shape.height, r.shape.frames, r.duration, cell(r.max),
                       cell(r.balanced), cell(r.low));
  return out;
}

}  // namespace rayvid::tools::bench
