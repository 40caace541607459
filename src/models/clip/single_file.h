// CLIP ViT-H/14 in one safetensors file, as ComfyUI ships it for Wan2.1 I2V
// (split_files/clip_vision/clip_vision_h.safetensors): transformers' CLIPVisionModelWithProjection
// names (`vision_model.encoder.layers.N.self_attn.q_proj.weight`, `visual_projection.weight`), the
// same tensors a diffusers image_encoder/ folder holds, without its config or the
// image_processor/ beside it. The config comes from the shapes; the head count, which no shape
// records, from the head width (80 in ViT-H/14); the activation (exact GELU) and the
// preprocessing (224 px, bicubic, OpenAI mean and std) are what Wan's CLIP uses.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "models/checkpoint_source.h"
#include "models/clip/config.h"

namespace rayvid::models::clip {

struct ClipFile {
  CheckpointSource source;
  CLIPVisionConfig config;
};

bool looks_like_clip_vision(const std::vector<std::string>& names);

// Config from the tensors: width, layers, MLP width, patch, image side, projection.
CLIPVisionConfig detect_clip_vision_config(const WeightSource& source, int64_t head_dim = 80);

// kBadInput naming what the file holds when it is not a CLIP vision tower in transformers' names
// (open_clip's `visual.transformer.resblocks` layout is named and refused).
ClipFile open_clip_file(const std::filesystem::path& file, int64_t head_dim = 80);

// Wan's CLIP preprocessing at the tower's input size (what a Wan2.1 I2V diffusers folder's
// image_processor/ declares, 224 px for ViT-H/14).
CLIPImageProcessorConfig wan_clip_processor(const CLIPVisionConfig& config);

}  // namespace rayvid::models::clip
