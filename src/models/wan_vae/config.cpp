// WanVAEConfig: parsing, validation and presets. Field names and defaults follow diffusers'
// AutoencoderKLWan.__init__, so a config.json with missing fields means what it means there.
#include "models/wan_vae/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <numeric>

#include "core/check.h"
#include "models/config_limits.h"

namespace rayvid::models::wan_vae {
namespace {

// The reference's own defaults (AutoencoderKLWan.__init__): the Wan2.1 normalisation constants.
const std::vector<double> kWan21LatentsMean = {-0.7571, -0.7089, -0.9113, 0.1075,  -0.1745, 0.9653,
                                               -0.1517, 1.5508,  0.4134,  -0.0715, 0.5517,  -0.3632,
                                               -0.1922, -0.9497, 0.2503,  -0.2921};
const std::vector<double> kWan21LatentsStd = {2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708,
                                              2.6052, 2.0743, 3.2687, 2.1526, 2.8652, 1.5579,
                                              1.6382, 1.1253, 2.8251, 1.9160};
const std::vector<double> kWan22LatentsMean = {
    -0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174,  0.1838,  0.1557,  -0.1382, 0.0542,
    0.2813,  0.0891,  0.1570,  -0.0098, 0.0375,  -0.1825, -0.2246, -0.1207, -0.0698, 0.5109,
    0.2665,  -0.2108, -0.2158, 0.2502,  -0.2055, -0.0322, 0.1109,  0.1567,  -0.0729, 0.0899,
    -0.2799, -0.1230, -0.0313, -0.1649, 0.0117,  0.0723,  -0.2839, -0.2083, -0.0520, 0.3748,
    0.0152,  0.1957,  0.1433,  -0.2944, 0.3573,  -0.0548, -0.1681, -0.0667};
const std::vector<double> kWan22LatentsStd = {
    0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013, 0.8158, 1.0344, 0.5894, 1.0901,
    0.6885, 0.6165, 0.8454, 0.4978, 0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146, 0.8986, 0.5659,
    0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093, 0.5709, 0.6065, 0.6415, 0.4944,
    0.5726, 1.2042, 0.5458, 1.6887, 0.3971, 1.0600, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744};

template <typename T>
std::vector<T> list_or(const io::JsonFile& json, const std::string& key, std::vector<T> fallback) {
  if (!json.has(key)) return fallback;
  const auto& value = json.json().at(key);
  RAYVID_CHECK(value.is_array(), BadInput, "{}: field '{}' should be a list, got {}", json.label(),
               key, io::json_type_name(value));
  std::vector<T> out;
  for (const auto& item : value) {
    if constexpr (std::is_same_v<T, bool>) {
      RAYVID_CHECK(item.is_boolean(), BadInput, "{}: field '{}' should hold booleans, got {}",
                   json.label(), key, io::json_type_name(item));
    } else {
      RAYVID_CHECK(item.is_number(), BadInput, "{}: field '{}' should hold numbers, got {}",
                   json.label(), key, io::json_type_name(item));
    }
    out.push_back(item.get<T>());
  }
  return out;
}

}  // namespace

std::vector<bool> WanVAEConfig::temperal_upsample() const {
  return {temperal_downsample.rbegin(), temperal_downsample.rend()};
}

std::vector<int64_t> WanVAEConfig::encoder_dims() const {
  std::vector<int64_t> dims = {base_dim};
  for (int64_t m : dim_mult) dims.push_back(base_dim * m);
  return dims;
}

std::vector<int64_t> WanVAEConfig::decoder_dims() const {
  std::vector<int64_t> dims = {decoder_base_dim * dim_mult.back()};
  for (auto it = dim_mult.rbegin(); it != dim_mult.rend(); ++it)
    dims.push_back(decoder_base_dim * *it);
  return dims;
}

int64_t WanVAEConfig::num_frames_latent(int64_t num_frames_pixel) const {
  return (num_frames_pixel - 1) / scale_factor_temporal + 1;
}

int64_t WanVAEConfig::num_frames_pixel(int64_t num_frames_latent) const {
  return (num_frames_latent - 1) * scale_factor_temporal + 1;
}

WanVAEConfig WanVAEConfig::from_json(const io::JsonFile& json) {
  WanVAEConfig c;
  if (json.has("_class_name")) {
    const auto cls = json.require<std::string>("_class_name");
    RAYVID_CHECK(cls == "AutoencoderKLWan", BadInput,
                 "{}: _class_name is '{}', expected 'AutoencoderKLWan' (is this the Wan VAE?)",
                 json.label(), cls);
  }
  c.base_dim = json.get_or<int64_t>("base_dim", 96);
  c.decoder_base_dim = json.get_or<int64_t>("decoder_base_dim", c.base_dim);
  c.z_dim = json.get_or<int64_t>("z_dim", 16);
  c.dim_mult = list_or<int64_t>(json, "dim_mult", {1, 2, 4, 4});
  c.num_res_blocks = json.get_or<int64_t>("num_res_blocks", 2);
  c.attn_scales = list_or<double>(json, "attn_scales", {});
  c.temperal_downsample = list_or<bool>(json, "temperal_downsample", {false, true, true});
  // As in diffusers, the constants live in vae/config.json; absent means the class defaults
  // (the Wan2.1 values), which only fit a 16-channel latent.
  c.latents_mean = list_or<double>(json, "latents_mean", kWan21LatentsMean);
  c.latents_std = list_or<double>(json, "latents_std", kWan21LatentsStd);
  c.is_residual = json.get_or<bool>("is_residual", false);
  c.in_channels = json.get_or<int64_t>("in_channels", 3);
  c.out_channels = json.get_or<int64_t>("out_channels", 3);
  c.patch_size = json.get_or<int64_t>("patch_size", 1);  // null = no patchify
  c.scale_factor_temporal = json.get_or<int64_t>("scale_factor_temporal", 4);
  c.scale_factor_spatial = json.get_or<int64_t>("scale_factor_spatial", 8);
  const double dropout = json.get_or<double>("dropout", 0.0);
  RAYVID_CHECK(dropout >= 0.0 && dropout < 1.0, BadInput, "{}: dropout {} is not in [0, 1)",
               json.label(), dropout);
  c.validate(json.label());
  return c;
}

nlohmann::json WanVAEConfig::to_json() const {
  return {{"_class_name", "AutoencoderKLWan"},
          {"base_dim", base_dim},
          {"decoder_base_dim", decoder_base_dim},
          {"z_dim", z_dim},
          {"dim_mult", dim_mult},
          {"num_res_blocks", num_res_blocks},
          {"attn_scales", attn_scales},
          {"temperal_downsample", temperal_downsample},
          {"latents_mean", latents_mean},
          {"latents_std", latents_std},
          {"is_residual", is_residual},
          {"in_channels", in_channels},
          {"out_channels", out_channels},
          {"patch_size", patch_size},
          {"scale_factor_temporal", scale_factor_temporal},
          {"scale_factor_spatial", scale_factor_spatial}};
}

WanVAEConfig WanVAEConfig::detect(const std::map<std::string, std::vector<int64_t>>& shapes) {
  const auto shape = [&](const std::string& name) -> const std::vector<int64_t>& {
    auto it = shapes.find(name);
    RAYVID_CHECK(it != shapes.end(), BadInput,
                 "cannot detect the Wan VAE architecture: no tensor '{}' (is this a diffusers "
                 "AutoencoderKLWan checkpoint?)",
                 name);
    return it->second;
  };
  const auto count = [&](const std::string& prefix) {
    int64_t n = 0;
    while (shapes.lower_bound(fmt::format("{}{}.", prefix, n)) != shapes.end() &&
           shapes.lower_bound(fmt::format("{}{}.", prefix, n))
                   ->first.rfind(fmt::format("{}{}.", prefix, n), 0) == 0) {
      ++n;
    }
    return n;
  };
  WanVAEConfig c;
  c.z_dim = shape("post_quant_conv.weight")[0];
  c.in_channels = shape("encoder.conv_in.weight")[1];
  c.base_dim = shape("encoder.conv_in.weight")[0];
  c.out_channels = shape("decoder.conv_out.weight")[0];
  c.is_residual = shapes.count("encoder.down_blocks.0.resnets.0.conv1.weight") != 0;
  const int64_t stages = count("decoder.up_blocks.");
  RAYVID_CHECK(stages >= 1, BadInput,
               "cannot detect the Wan VAE architecture: no decoder.up_blocks");
  c.num_res_blocks = count("decoder.up_blocks.0.resnets.") - 1;
  // Stage widths, decoder order; the base width is their greatest common divisor.
  std::vector<int64_t> widths;
  int64_t base = 0;
  c.temperal_downsample.assign(stages - 1, false);
  for (int64_t i = 0; i < stages; ++i) {
    widths.push_back(shape(fmt::format("decoder.up_blocks.{}.resnets.0.conv2.weight", i))[0]);
    base = std::gcd(base, widths.back());
    if (i + 1 < stages) {
      const std::string up = c.is_residual ? "upsampler" : "upsamplers.0";
      c.temperal_downsample[stages - 2 - i] =
          shapes.count(fmt::format("decoder.up_blocks.{}.{}.time_conv.weight", i, up)) != 0;
    }
  }
  c.decoder_base_dim = base;
  c.dim_mult.clear();
  for (auto it = widths.rbegin(); it != widths.rend(); ++it) c.dim_mult.push_back(*it / base);
  const int64_t image = c.out_channels;
  c.patch_size = (image == 12) ? 2 : 1;
  c.scale_factor_spatial = (int64_t{1} << (stages - 1)) * c.patch_size;
  const WanVAEConfig preset = c.z_dim == 48 ? wan22() : wan21();
  c.latents_mean = preset.latents_mean;
  c.latents_std = preset.latents_std;
  c.validate();
  return c;
}

void WanVAEConfig::validate(const std::string& where) const {
  const std::string who = where + ":";
  check_size(where, "base_dim", base_dim, kMaxConfigWidth);
  check_size(where, "decoder_base_dim", decoder_base_dim, kMaxConfigWidth);
  check_size(where, "z_dim", z_dim, kMaxConfigWidth);
  check_size(where, "in_channels", in_channels, 1024);
  check_size(where, "out_channels", out_channels, 1024);
  RAYVID_CHECK(
      !dim_mult.empty() && dim_mult.size() <= 8 &&
          std::all_of(dim_mult.begin(), dim_mult.end(), [](int64_t m) { return m > 0 && m <= 64; }),
      BadInput, "{}: dim_mult [{}] must list 1..8 stages of multipliers within 1..64", where,
      fmt::join(dim_mult, ", "));
  check_size(where, "num_res_blocks", num_res_blocks, 64);
  for (double s : attn_scales)
    RAYVID_CHECK(std::isfinite(s) && s > 0 && s <= 1, BadInput,
                 "{}: attn_scales entries must be within 0 < scale <= 1, got {}", where, s);
  for (double m : latents_mean)
    RAYVID_CHECK(std::isfinite(m) && std::abs(m) <= 1000, BadInput,
                 "{}: latents_mean entries must be finite numbers within -1000..1000, got {}",
                 where, m);
  for (double s : latents_std) check_positive_real(where, "latents_std", s, 1000);
  check_size(where, "patch_size", patch_size, 16);
  check_size(where, "scale_factor_spatial", scale_factor_spatial, 1024);
  check_size(where, "scale_factor_temporal", scale_factor_temporal, 64);
  RAYVID_CHECK(temperal_downsample.size() + 1 == dim_mult.size(), BadInput,
               "{} temperal_downsample has {} entries; dim_mult has {} stages, so it needs {}", who,
               temperal_downsample.size(), dim_mult.size(), dim_mult.size() - 1);
  RAYVID_CHECK(static_cast<int64_t>(latents_mean.size()) == z_dim &&
                   static_cast<int64_t>(latents_std.size()) == z_dim,
               BadInput, "{} latents_mean ({}) and latents_std ({}) must have z_dim = {} entries",
               who, latents_mean.size(), latents_std.size(), z_dim);
  RAYVID_CHECK(std::all_of(latents_std.begin(), latents_std.end(), [](double s) { return s > 0; }),
               BadInput, "{} latents_std must be positive", who);
  RAYVID_CHECK(patch_size >= 1, BadInput, "{} patch_size {} must be >= 1 (or null)", who,
               patch_size);
  RAYVID_CHECK(
      in_channels % (patch_size * patch_size) == 0 && out_channels % (patch_size * patch_size) == 0,
      BadInput, "{} in_channels {} / out_channels {} must be divisible by patch_size^2 = {}", who,
      in_channels, out_channels, patch_size * patch_size);
  // The reference's temporal chunking (1, 4, 4, ... frames) assumes 2 temporal halvings.
  const auto halvings = std::count(temperal_downsample.begin(), temperal_downsample.end(), true);
  RAYVID_CHECK(scale_factor_temporal == (int64_t{1} << halvings), BadInput,
               "{} scale_factor_temporal {} does not match temperal_downsample [{}] ({} halvings)",
               who, scale_factor_temporal, fmt::join(temperal_downsample, ", "), halvings);
  RAYVID_CHECK(scale_factor_temporal == 4, Unsupported,
               "{} scale_factor_temporal {}: only 4 (the Wan VAEs) is supported", who,
               scale_factor_temporal);
  const int64_t spatial = (int64_t{1} << (dim_mult.size() - 1)) * patch_size;
  RAYVID_CHECK(scale_factor_spatial == spatial, BadInput,
               "{} scale_factor_spatial {} does not match {} stages x patch_size {} (= {})", who,
               scale_factor_spatial, dim_mult.size(), patch_size, spatial);
  if (is_residual) {
    const auto enc = encoder_dims();
    const auto dec = decoder_dims();
    for (size_t i = 0; i + 1 < enc.size(); ++i) {
      const int64_t factor = (i + 2 < enc.size()) ? (temperal_downsample[i] ? 8 : 4) : 1;
      RAYVID_CHECK(enc[i] * factor % enc[i + 1] == 0, BadInput,
                   "{} is_residual: encoder stage {} ({} -> {} channels) cannot use an average "
                   "shortcut with factor {}",
                   who, i, enc[i], enc[i + 1], factor);
    }
    const auto up = temperal_upsample();
    for (size_t i = 0; i + 2 < dec.size(); ++i) {
      const int64_t factor = up[i] ? 8 : 4;
      RAYVID_CHECK(dec[i + 1] * factor % dec[i] == 0, BadInput,
                   "{} is_residual: decoder stage {} ({} -> {} channels) cannot use a duplicate "
                   "shortcut with factor {}",
                   who, i, dec[i], dec[i + 1], factor);
    }
  } else {
    RAYVID_CHECK(decoder_base_dim % 2 == 0 || dim_mult.size() == 1, BadInput,
                 "{} decoder_base_dim {} must be even (the Wan2.1 upsamplers halve channels)", who,
                 decoder_base_dim);
  }
}

WanVAEConfig WanVAEConfig::wan21() {
  WanVAEConfig c;
  c.latents_mean = kWan21LatentsMean;
  c.latents_std = kWan21LatentsStd;
  return c;
}

WanVAEConfig WanVAEConfig::wan22() {
  WanVAEConfig c;
  c.base_dim = 160;
  c.decoder_base_dim = 256;
  c.z_dim = 48;
  c.is_residual = true;
  c.in_channels = 12;
  c.out_channels = 12;
  c.patch_size = 2;
  c.scale_factor_spatial = 16;
  c.latents_mean = kWan22LatentsMean;
  c.latents_std = kWan22LatentsStd;
  return c;
}

}  // namespace rayvid::models::wan_vae
