#include "models/wan_vae/single_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <regex>

#include "core/check.h"

namespace rayvid::models::wan_vae {
namespace {

// residual.0 (RMS norm), residual.2 (conv), residual.3 (norm), residual.6 (conv), shortcut.
std::optional<std::string> residual_part(const std::string& rest) {
  static const std::pair<const char*, const char*> kParts[] = {
      {"residual.0.gamma", "norm1.gamma"},         {"residual.2.weight", "conv1.weight"},
      {"residual.2.bias", "conv1.bias"},           {"residual.3.gamma", "norm2.gamma"},
      {"residual.6.weight", "conv2.weight"},       {"residual.6.bias", "conv2.bias"},
      {"shortcut.weight", "conv_shortcut.weight"}, {"shortcut.bias", "conv_shortcut.bias"}};
  for (const auto& [from, to] : kParts)
    if (rest == from) return std::string(to);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> wan_vae_original_to_diffusers(const std::string& name,
                                                         int64_t decoder_resnets) {
  static const std::map<std::string, std::string> kFixed = {
      {"conv1.weight", "quant_conv.weight"},
      {"conv1.bias", "quant_conv.bias"},
      {"conv2.weight", "post_quant_conv.weight"},
      {"conv2.bias", "post_quant_conv.bias"},
      {"encoder.conv1.weight", "encoder.conv_in.weight"},
      {"encoder.conv1.bias", "encoder.conv_in.bias"},
      {"decoder.conv1.weight", "decoder.conv_in.weight"},
      {"decoder.conv1.bias", "decoder.conv_in.bias"},
      {"encoder.head.0.gamma", "encoder.norm_out.gamma"},
      {"encoder.head.2.weight", "encoder.conv_out.weight"},
      {"encoder.head.2.bias", "encoder.conv_out.bias"},
      {"decoder.head.0.gamma", "decoder.norm_out.gamma"},
      {"decoder.head.2.weight", "decoder.conv_out.weight"},
      {"decoder.head.2.bias", "decoder.conv_out.bias"}};
  if (const auto it = kFixed.find(name); it != kFixed.end()) return it->second;
  std::smatch m;
  // middle.0 / middle.2: resnets; middle.1: the attention block.
  static const std::regex kMiddle(R"(^(encoder|decoder)\.middle\.(\d)\.(.+)$)");
  if (std::regex_match(name, m, kMiddle)) {
    const std::string side = m[1], rest = m[3];
    const int index = std::stoi(m[2]);
    if (index == 1 &&
        (rest == "norm.gamma" || rest.starts_with("to_qkv.") || rest.starts_with("proj.")))
      return side + ".mid_block.attentions.0." + rest;
    if (index == 0 || index == 2)
      if (const auto part = residual_part(rest))
        return fmt::format("{}.mid_block.resnets.{}.{}", side, index / 2, *part);
    return std::nullopt;
  }
  // Wan2.2 (vae2_2.py): each stage is one Down_/Up_ResidualBlock whose Sequential `downsamples`
  // / `upsamples` holds its resnets, then its resample; diffusers names them resnets.M and
  // downsampler / upsampler. The stages' space-to-depth shortcuts have no weights.
  static const std::regex kStage(
      R"(^(encoder|decoder)\.(down|up)samples\.(\d+)\.\2samples\.(\d+)\.(.+)$)");
  if (std::regex_match(name, m, kStage)) {
    const std::string side = m[1], dir = m[2], stage = m[3], index = m[4], rest = m[5];
    if ((side == "encoder") != (dir == "down")) return std::nullopt;
    const std::string block = side + (dir == "down" ? ".down_blocks." : ".up_blocks.") + stage;
    if (const auto part = residual_part(rest)) return block + ".resnets." + index + "." + *part;
    if (rest.starts_with("resample.") || rest.starts_with("time_conv."))
      return block + (dir == "down" ? ".downsampler." : ".upsampler.") + rest;
    return std::nullopt;
  }
  // Wan2.1: the encoder's flat list keeps its indices in diffusers (resnets and resamples alike).
  static const std::regex kDown(R"(^encoder\.downsamples\.(\d+)\.(.+)$)");
  if (std::regex_match(name, m, kDown)) {
    const std::string rest = m[2];
    if (const auto part = residual_part(rest))
      return fmt::format("encoder.down_blocks.{}.{}", std::string(m[1]), *part);
    if (rest.starts_with("resample.") || rest.starts_with("time_conv."))
      return fmt::format("encoder.down_blocks.{}.{}", std::string(m[1]), rest);
    return std::nullopt;
  }
  // The decoder's flat list: per stage `decoder_resnets` residual blocks, then its upsampler.
  static const std::regex kUp(R"(^decoder\.upsamples\.(\d+)\.(.+)$)");
  if (std::regex_match(name, m, kUp)) {
    const int64_t flat = std::stoll(m[1]), stride = decoder_resnets + 1;
    const int64_t stage = flat / stride, pos = flat % stride;
    const std::string rest = m[2];
    if (pos < decoder_resnets) {
      if (const auto part = residual_part(rest))
        return fmt::format("decoder.up_blocks.{}.resnets.{}.{}", stage, pos, *part);
      return std::nullopt;
    }
    if (rest.starts_with("resample.") || rest.starts_with("time_conv."))
      return fmt::format("decoder.up_blocks.{}.upsamplers.0.{}", stage, rest);
  }
  return std::nullopt;
}

VAEFile VAEFile::open(const std::filesystem::path& file) {
  VAEFile v(CheckpointSource::open(file, {"first_stage_model.", "vae."}));
  const auto names = v.source_.names();
  auto any = [&](const char* part) {
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& n) { return n.find(part) != std::string::npos; });
  };
  v.original_ = any("decoder.upsamples.") || any("encoder.downsamples.");
  // Wan2.2's stages nest their blocks (encoder.downsamples.N.downsamples.M), Wan2.1's are flat.
  const bool nested = any(".downsamples.0.downsamples.") || any(".upsamples.0.upsamples.");
  if (v.original_) {
    // Wan2.1's flat decoder list: its first upsampler sits after its stage's resnets, so its
    // index is the count. Wan2.2's names carry their stage and need no count.
    int64_t resnets = 0;
    if (!nested) {
      static const std::regex kResample(R"(^decoder\.upsamples\.(\d+)\.resample\..*)");
      std::smatch m;
      resnets = -1;
      for (const auto& n : names)
        if (std::regex_match(n, m, kResample)) {
          const int64_t index = std::stoll(m[1]);
          resnets = resnets < 0 ? index : std::min(resnets, index);
        }
      RAYVID_CHECK(resnets > 0, BadInput,
                   "{}: an original-layout Wan VAE without decoder upsamplers; the file is damaged",
                   file.string());
    }
    std::vector<std::string> unknown;
    for (const auto& n : names) {
      const auto d = wan_vae_original_to_diffusers(n, resnets);
      if (d)
        v.stored_[*d] = n;
      else
        unknown.push_back(n);
    }
    RAYVID_CHECK(
        unknown.empty(), BadInput,
        "{}: {} tensor(s) outside the original Wan{} VAE layout (first: {}); is this a Wan "
        "VAE?",
        file.string(), unknown.size(), nested ? "2.2" : "2.1", unknown.front());
  } else {
    for (const auto& n : names) v.stored_[n] = n;
  }
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, stored] : v.stored_) shapes[name] = *v.source_.shape(stored);
  RAYVID_CHECK(shapes.count("post_quant_conv.weight") && shapes.count("encoder.conv_in.weight"),
               BadInput,
               "{}: not a Wan VAE in a layout rayvid reads (first tensors: {}); rayvid reads the "
               "original Wan2.1 and Wan2.2 VAE names (encoder.downsamples.0.residual.0.gamma, "
               "encoder.downsamples.0.downsamples.0.residual.0.gamma, conv1, conv2) and "
               "diffusers' AutoencoderKLWan names",
               file.string(),
               fmt::join(std::vector<std::string>(
                             names.begin(), names.begin() + std::min<size_t>(names.size(), 4)),
                         ", "));
  v.config_ = WanVAEConfig::detect(shapes);
  return v;
}

std::vector<std::string> VAEFile::names() const {
  std::vector<std::string> out;
  for (const auto& [name, stored] : stored_) out.push_back(name);
  return out;
}

std::optional<std::vector<int64_t>> VAEFile::shape(const std::string& name) const {
  const auto it = stored_.find(name);
  return it == stored_.end() ? std::nullopt : source_.shape(it->second);
}

at::Tensor VAEFile::load(const std::string& name) const { return source_.load(stored_.at(name)); }

}  // namespace rayvid::models::wan_vae
