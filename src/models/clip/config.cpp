// CLIP vision and image-processor configs: parsing and validation.
#include "models/clip/config.h"

#include <fmt/format.h>

#include "core/check.h"
#include "models/config_limits.h"

#include <tuple>

namespace rayvid::models::clip {
namespace {

// size / crop_size are {"shortest_edge": N}, {"height": H, "width": W}, or (old files) an int.
struct SizeField {
  int64_t shortest_edge = 0;
  int64_t height = 0;
  int64_t width = 0;
};

SizeField read_size(const io::JsonFile& json, const std::string& key) {
  SizeField s;
  const auto& v = json.json().at(key);
  if (v.is_number_integer()) {
    s.shortest_edge = s.height = s.width = v.get<int64_t>();
    return s;
  }
  const auto sub = io::JsonFile::from_json(v, json.label() + ": " + key);
  RAYVID_CHECK(v.is_object(), BadInput, "{}: field '{}' should be an object or an integer",
               json.label(), key);
  s.shortest_edge = sub.get_or<int64_t>("shortest_edge", 0);
  s.height = sub.get_or<int64_t>("height", 0);
  s.width = sub.get_or<int64_t>("width", 0);
  return s;
}

std::array<double, 3> read_triplet(const io::JsonFile& json, const std::string& key,
                                   std::array<double, 3> fallback) {
  if (!json.has(key)) return fallback;
  const auto& v = json.json().at(key);
  if (v.is_number()) return {v.get<double>(), v.get<double>(), v.get<double>()};
  RAYVID_CHECK(
      v.is_array() && v.size() == 3 && v[0].is_number() && v[1].is_number() && v[2].is_number(),
      BadInput, "{}: field '{}' should be a number or a list of 3 numbers", json.label(), key);
  return {v[0].get<double>(), v[1].get<double>(), v[2].get<double>()};
}

}  // namespace

CLIPVisionConfig CLIPVisionConfig::from_json(const io::JsonFile& file) {
  // A full CLIPConfig nests the tower under vision_config; CLIPVisionModel* configs are flat.
  const auto json = file.has("vision_config")
                        ? io::JsonFile::from_json(file.require_object("vision_config"),
                                                  file.label() + ": vision_config")
                        : file;
  CLIPVisionConfig c;
  c.hidden_size = json.get_or<int64_t>("hidden_size", 768);
  c.intermediate_size = json.get_or<int64_t>("intermediate_size", 3072);
  c.num_hidden_layers = json.get_or<int64_t>("num_hidden_layers", 12);
  c.num_attention_heads = json.get_or<int64_t>("num_attention_heads", 12);
  c.num_channels = json.get_or<int64_t>("num_channels", 3);
  c.image_size = json.get_or<int64_t>("image_size", 224);
  c.patch_size = json.get_or<int64_t>("patch_size", 32);
  c.projection_dim =
      json.get_or<int64_t>("projection_dim", file.get_or<int64_t>("projection_dim", 512));
  c.layer_norm_eps = json.get_or<double>("layer_norm_eps", 1e-5);
  c.hidden_act = json.get_or<std::string>("hidden_act", "quick_gelu");
  if (c.hidden_act == "gelu") {
    c.act = ClipAct::kGelu;
  } else if (c.hidden_act == "quick_gelu") {
    c.act = ClipAct::kQuickGelu;
  } else {
    fail(ErrorCategory::kUnsupported, "{}: hidden_act '{}' is not supported (gelu, quick_gelu)",
         json.label(), c.hidden_act);
  }
  c.has_projection = true;
  if (file.has("architectures") && file.json()["architectures"].is_array()) {
    for (const auto& a : file.json()["architectures"]) {
      if (a == "CLIPVisionModel") c.has_projection = false;
    }
  }
  c.validate(json.label());
  return c;
}

CLIPVisionConfig CLIPVisionConfig::load(const std::filesystem::path& component_dir) {
  return from_json(io::JsonFile::load(component_dir / "config.json"));
}

CLIPVisionConfig CLIPVisionConfig::vit_h_14() { return CLIPVisionConfig{}; }

nlohmann::json CLIPVisionConfig::to_json() const {
  return {{"architectures", {has_projection ? "CLIPVisionModelWithProjection" : "CLIPVisionModel"}},
          {"hidden_size", hidden_size},
          {"intermediate_size", intermediate_size},
          {"num_hidden_layers", num_hidden_layers},
          {"num_attention_heads", num_attention_heads},
          {"num_channels", num_channels},
          {"image_size", image_size},
          {"patch_size", patch_size},
          {"projection_dim", projection_dim},
          {"layer_norm_eps", layer_norm_eps},
          {"hidden_act", hidden_act}};
}

void CLIPVisionConfig::validate(const std::string& where) const {
  for (auto [v, name, max] : {std::tuple{hidden_size, "hidden_size", kMaxConfigWidth},
                              {intermediate_size, "intermediate_size", kMaxConfigWidth},
                              {num_hidden_layers, "num_hidden_layers", kMaxConfigLayers},
                              {num_attention_heads, "num_attention_heads", kMaxConfigHeads},
                              {num_channels, "num_channels", int64_t{16}},
                              {image_size, "image_size", int64_t{8192}},
                              {patch_size, "patch_size", int64_t{1024}},
                              {projection_dim, "projection_dim", kMaxConfigWidth}}) {
    check_size(where, name, v, max);
  }
  RAYVID_CHECK(hidden_size % num_attention_heads == 0, BadInput,
               "{}: hidden_size {} is not divisible by num_attention_heads {}", where, hidden_size,
               num_attention_heads);
  RAYVID_CHECK(image_size % patch_size == 0, BadInput,
               "{}: image_size {} is not a multiple of patch_size {}", where, image_size,
               patch_size);
  RAYVID_CHECK(num_hidden_layers >= 2, BadInput,
               "{}: num_hidden_layers {} < 2: Wan takes the penultimate layer's hidden state",
               where, num_hidden_layers);
  check_positive_real(where, "layer_norm_eps", layer_norm_eps, 1.0);
}

std::string CLIPVisionConfig::summary() const {
  return fmt::format(
      "CLIP vision: {} layers, width {}, {} heads x {}, mlp {}, {}px / patch {} -> {} tokens, {}, "
      "projection {}",
      num_hidden_layers, hidden_size, num_attention_heads, head_dim(), intermediate_size,
      image_size, patch_size, num_positions(), hidden_act,
      has_projection ? std::to_string(projection_dim) : "none");
}

CLIPImageProcessorConfig CLIPImageProcessorConfig::from_json(const io::JsonFile& json) {
  CLIPImageProcessorConfig c;
  c.do_convert_rgb = json.get_or<bool>("do_convert_rgb", true);
  c.do_resize = json.get_or<bool>("do_resize", true);
  if (json.has("size")) {
    const auto s = read_size(json, "size");
    c.shortest_edge = s.shortest_edge;
    c.resize_height = s.shortest_edge ? 0 : s.height;
    c.resize_width = s.shortest_edge ? 0 : s.width;
  }
  const int64_t resample = json.get_or<int64_t>("resample", 3);
  RAYVID_CHECK(resample >= 0 && resample <= 5, BadInput,
               "{}: resample {} is not a PIL filter (0..5)", json.label(), resample);
  RAYVID_CHECK(resample == 2 || resample == 3, Unsupported,
               "{}: resample {} is not supported; rayvid implements PIL's bilinear (2) and "
               "bicubic (3)",
               json.label(), resample);
  c.resample = resample == 2 ? Resample::kBilinear : Resample::kBicubic;
  c.do_center_crop = json.get_or<bool>("do_center_crop", true);
  if (json.has("crop_size")) {
    const auto s = read_size(json, "crop_size");
    c.crop_height = s.height ? s.height : s.shortest_edge;
    c.crop_width = s.width ? s.width : s.shortest_edge;
  }
  c.do_rescale = json.get_or<bool>("do_rescale", true);
  c.rescale_factor = json.get_or<double>("rescale_factor", 1.0 / 255.0);
  c.do_normalize = json.get_or<bool>("do_normalize", true);
  c.image_mean = read_triplet(json, "image_mean", c.image_mean);
  c.image_std = read_triplet(json, "image_std", c.image_std);
  RAYVID_CHECK(!json.has("do_pad") || !json.get_or<bool>("do_pad", false), Unsupported,
               "{}: do_pad is not supported", json.label());
  c.validate(json.label());
  return c;
}

CLIPImageProcessorConfig CLIPImageProcessorConfig::load(
    const std::filesystem::path& component_dir) {
  return from_json(io::JsonFile::load(component_dir / "preprocessor_config.json"));
}

void CLIPImageProcessorConfig::validate(const std::string& where) const {
  if (do_resize) {
    RAYVID_CHECK(shortest_edge > 0 || (resize_height > 0 && resize_width > 0), BadInput,
                 "{}: size must give shortest_edge or height and width", where);
  }
  for (int64_t side : {shortest_edge, resize_height, resize_width, crop_height, crop_width})
    RAYVID_CHECK(side >= 0 && side <= 8192, BadInput,
                 "{}: size and crop_size entries must be within 1..8192, got {}", where, side);
  if (do_center_crop) {
    RAYVID_CHECK(crop_height > 0 && crop_width > 0, BadInput,
                 "{}: crop_size must give a positive height and width", where);
  }
  check_positive_real(where, "rescale_factor", rescale_factor, 1.0);
  for (double m : image_mean)
    RAYVID_CHECK(std::isfinite(m) && std::abs(m) <= 1000, BadInput,
                 "{}: image_mean entries must be finite numbers within -1000..1000, got {}", where,
                 m);
  for (double s : image_std) check_positive_real(where, "image_std", s, 1000);
}

std::string CLIPImageProcessorConfig::summary() const {
  return fmt::format(
      "CLIP image processor: resize {} ({}), centre crop {}, rescale {}, normalise {}",
      do_resize ? (shortest_edge ? fmt::format("shortest edge {}", shortest_edge)
                                 : fmt::format("{}x{}", resize_width, resize_height))
                : "off",
      resample == Resample::kBicubic ? "bicubic" : "bilinear",
      do_center_crop ? fmt::format("{}x{}", crop_width, crop_height) : "off",
      do_rescale ? fmt::format("{:.6g}", rescale_factor) : "off",
      do_normalize ? "mean/std" : "off");
}

}  // namespace rayvid::models::clip
