// CLIP vision single files: see single_file.h.
#include "models/clip/single_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace rayvid::models::clip {
namespace {

const std::string kTower = "vision_model.";

std::vector<int64_t> shape_or_fail(const WeightSource& source, const std::string& name) {
  const auto shape = source.shape(name);
  RAYVID_CHECK(shape.has_value(), BadInput, "{}: no {} (a CLIP vision tower has one)",
               source.label(), name);
  return *shape;
}

}  // namespace

bool looks_like_clip_vision(const std::vector<std::string>& names) {
  auto has = [&](const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  return has(kTower + "embeddings.class_embedding") &&
         has(kTower + "embeddings.patch_embedding.weight") &&
         has(kTower + "encoder.layers.0.self_attn.q_proj.weight");
}

CLIPVisionConfig detect_clip_vision_config(const WeightSource& source, int64_t head_dim) {
  CLIPVisionConfig c;
  const auto patch = shape_or_fail(source, kTower + "embeddings.patch_embedding.weight");
  RAYVID_CHECK(patch.size() == 4 && patch[2] == patch[3], BadInput,
               "{}: patch_embedding.weight should be [width, channels, p, p], got [{}]",
               source.label(), fmt::join(patch, ", "));
  c.hidden_size = patch[0];
  c.num_channels = patch[1];
  c.patch_size = patch[2];
  const auto positions = shape_or_fail(source, kTower + "embeddings.position_embedding.weight");
  const auto side = static_cast<int64_t>(std::lround(std::sqrt(positions[0] - 1.0)));
  RAYVID_CHECK(side * side + 1 == positions[0], BadInput,
               "{}: {} positions are not a square grid plus the class token", source.label(),
               positions[0]);
  c.image_size = side * c.patch_size;
  c.intermediate_size = shape_or_fail(source, kTower + "encoder.layers.0.mlp.fc1.weight")[0];
  c.num_hidden_layers = 0;
  while (source.shape(
      fmt::format("{}encoder.layers.{}.layer_norm1.weight", kTower, c.num_hidden_layers)))
    ++c.num_hidden_layers;
  RAYVID_CHECK(head_dim > 0 && c.hidden_size % head_dim == 0, BadInput,
               "{}: width {} is not a whole number of {}-wide heads (CLIP ViT-H/14's); this is not "
               "the CLIP Wan2.1 I2V uses (clip_vision_h)",
               source.label(), c.hidden_size, head_dim);
  c.num_attention_heads = c.hidden_size / head_dim;
  c.has_projection = source.shape("visual_projection.weight").has_value();
  if (c.has_projection) c.projection_dim = (*source.shape("visual_projection.weight"))[0];
  c.hidden_act = "gelu";
  c.act = ClipAct::kGelu;
  c.layer_norm_eps = 1e-5;
  c.validate(source.label());
  return c;
}

ClipFile open_clip_file(const std::filesystem::path& file, int64_t head_dim) {
  CheckpointSource source = CheckpointSource::open(file, {});
  const auto names = source.names();
  if (!looks_like_clip_vision(names)) {
    const bool open_clip = std::any_of(names.begin(), names.end(), [](const std::string& n) {
      return n.starts_with("visual.transformer.resblocks.");
    });
    std::vector<std::string> first(names.begin(),
                                   names.begin() + std::min<size_t>(4, names.size()));
    fail(ErrorCategory::kBadInput,
         "{}: not a CLIP vision tower in transformers' names ({}; rayvid reads "
         "vision_model.embeddings.*, vision_model.encoder.layers.N.*, as ComfyUI's "
         "clip_vision_h.safetensors and a diffusers image_encoder/ hold them); first tensors: {}",
         file.string(),
         open_clip ? "this is open_clip's visual.transformer layout, not read yet"
                   : "no vision_model.embeddings.class_embedding",
         fmt::join(first, ", "));
  }
  CLIPVisionConfig config = detect_clip_vision_config(source, head_dim);
  return {std::move(source), config};
}

CLIPImageProcessorConfig wan_clip_processor(const CLIPVisionConfig& config) {
  CLIPImageProcessorConfig p;  // the defaults are Wan's: bicubic, center crop, OpenAI mean/std
  p.shortest_edge = config.image_size;
  p.crop_height = p.crop_width = config.image_size;
  return p;
}

}  // namespace rayvid::models::clip
