// The variant table and the DiT parameter count.
#include "tools/bench/arch_spec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/check.h"

namespace rayvid::tools::bench {
namespace {

std::vector<ArchSpec> table() {
  ArchSpec small;
  small.name = "wan2.1-1.3b";
  small.description = "Wan2.1 T2V-1.3B";
  small.dim = 1536;
  small.ffn_dim = 8960;
  small.heads = 12;
  small.layers = 30;
  small.in_channels = 16;
  small.out_channels = 16;
  small.presets = pipeline::preset_family_wan21();
  ArchSpec big = small;
  big.name = "wan2.1-14b";
  big.description = "Wan2.1 T2V-14B";
  big.dim = 5120;
  big.ffn_dim = 13824;
  big.heads = 40;
  big.layers = 40;
  ArchSpec i2v = big;
  i2v.name = "wan2.1-i2v-14b";
  i2v.description = "Wan2.1 I2V-14B (480P/720P)";
  i2v.in_channels = 36;
  i2v.image_tokens = 257;
  i2v.image_dim = 1280;
  i2v.default_steps = 40;
  i2v.needs_clip = true;
  ArchSpec ti2v = small;
  ti2v.name = "wan2.2-5b";
  ti2v.description = "Wan2.2 TI2V-5B";
  ti2v.dim = 3072;
  ti2v.ffn_dim = 14336;
  ti2v.heads = 24;
  ti2v.in_channels = 48;
  ti2v.out_channels = 48;
  ti2v.vae_stride = 16;
  ti2v.vae = "wan2.2";
  ti2v.presets = pipeline::preset_family_ti2v();
  ArchSpec a14b = big;
  a14b.name = "wan2.2-a14b";
  a14b.description = "Wan2.2 T2V-A14B (two experts)";
  a14b.experts = 2;
  a14b.default_steps = 40;
  return {small, big, i2v, ti2v, a14b};
}

}  // namespace

std::vector<std::string> arch_names() {
  std::vector<std::string> names;
  for (const auto& a : table()) names.push_back(a.name);
  return names;
}

ArchSpec arch_spec(const std::string& name) {
  for (const auto& a : table())
    if (a.name == name) return a;
  fail(ErrorCategory::kBadArgument, "--arch {}: unknown architecture; choose one of {}", name,
       fmt::join(arch_names(), ", "));
}

int64_t dit_parameters(const ArchSpec& a) {
  const int64_t d = a.dim, f = a.ffn_dim;
  // One block: self-attention q,k,v,o (weights + biases) and RMSNorm q/k over d; cross-attention
  // the same; (Wan2.1 I2V) image k/v projections and their RMSNorm; the affine cross-attention
  // LayerNorm; the FFN; the 6 x d modulation table.
  int64_t block = 4 * (d * d + d) + 2 * d;
  block += 4 * (d * d + d) + 2 * d;
  if (a.image_tokens > 0) block += 2 * (d * d + d) + d;
  block += 2 * d;
  block += (d * f + f) + (f * d + d);
  block += 6 * d;
  const int64_t patch_in = a.in_channels * a.patch * a.patch;  // Conv3d kernel (1, 2, 2)
  int64_t rest = d * patch_in + d;                             // patch embedding
  rest += (a.text_dim * d + d) + (d * d + d);                  // text MLP
  rest += (a.freq_dim * d + d) + (d * d + d);                  // time MLP
  rest += d * 6 * d + 6 * d;                                   // time projection to 6 d
  rest += 2 * d;                                               // head modulation table
  const int64_t patch_out = a.out_channels * a.patch * a.patch;
  rest += d * patch_out + patch_out;  // output projection
  if (a.image_tokens > 0) {           // CLIP token MLP
    const int64_t c = a.image_dim;
    rest += 2 * c + (c * c + c) + (c * d + d) + 2 * d;
  }
  return a.layers * block + rest;
}

}  // namespace rayvid::tools::bench
