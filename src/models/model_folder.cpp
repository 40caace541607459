// Reading model_index.json and guessing the Wan variant from the component configs.
#include "models/model_folder.h"

#include "core/check.h"
#include "io/regular_file.h"
#include "io/safetensors.h"
#include "models/wan_dit/single_file.h"

namespace rayvid::models {
namespace fs = std::filesystem;

namespace {

// Every component folder that is there must be a folder, and every file in it named as weights a
// regular file. Checked on open because the engine sizes the weight files before loading them,
// and std::filesystem throws (an "internal error") on a FIFO, a folder or a symlink loop there.
void check_component_files(const ComponentEntry& component) {
  const io::PathKind kind = io::path_kind(component.dir);
  if (kind == io::PathKind::kMissing) return;  // an absent folder is reported where it is needed
  RAYVID_CHECK(kind == io::PathKind::kFolder, BadInput,
               "{}: the {} component should be a folder, but it is {}; restore the folder from "
               "the original model",
               component.dir.string(), component.name, io::describe_path(component.dir));
  io::weight_files(component.dir);
}

}  // namespace

bool ComponentEntry::has_weights() const {
  return !file.empty() || io::path_kind(dir / "config.json") != io::PathKind::kMissing;
}

ModelFolder ModelFolder::open(const fs::path& folder) {
  RAYVID_CHECK(io::path_kind(folder) == io::PathKind::kFolder, BadInput,
               "{}: not a folder ({}); point --model at a diffusers model folder (with "
               "model_index.json)",
               folder.string(), io::describe_path(folder));
  const fs::path index_path = folder / "model_index.json";
  RAYVID_CHECK(io::path_kind(index_path) != io::PathKind::kMissing, BadInput,
               "{}: no model_index.json; rayvid expects the diffusers folder layout (e.g. "
               "Wan-AI/Wan2.2-TI2V-5B-Diffusers)",
               folder.string());
  ModelFolder result;
  result.path_ = folder;
  result.index_ = io::JsonFile::load(index_path);  // refuses a FIFO, a folder, a loop, ...
  for (const auto& [name, value] : result.index_.json().items()) {
    if (name.starts_with("_") || !value.is_array()) continue;
    // Components are ["library", "ClassName"]; [null, null] marks an absent optional one.
    if (value.size() != 2 || !value[0].is_string() || !value[1].is_string()) continue;
    ComponentEntry entry;
    entry.name = name;
    entry.library = value[0].get<std::string>();
    entry.class_name = value[1].get<std::string>();
    entry.dir = folder / name;
    result.components_.push_back(std::move(entry));
    check_component_files(result.components_.back());
  }
  return result;
}

const ComponentEntry* ModelFolder::find(const std::string& name) const {
  for (const auto& c : components_)
    if (c.name == name) return &c;
  return nullptr;
}

const ComponentEntry& ModelFolder::require(const std::string& name) const {
  const ComponentEntry* entry = find(name);
  RAYVID_CHECK(entry != nullptr, BadInput, "{}: model_index.json lists no '{}' component",
               path_.string(), name);
  return *entry;
}

io::JsonFile ModelFolder::component_config(const std::string& name) const {
  const ComponentEntry& entry = require(name);
  if (entry.config)
    return io::JsonFile::from_json(*entry.config, entry.label() + " (detected config)");
  const fs::path dir = entry.dir;
  for (const char* file : {"config.json", "scheduler_config.json", "preprocessor_config.json"}) {
    // Whatever is there is loaded, so a config that is a FIFO or a loop is named as such.
    if (io::path_kind(dir / file) != io::PathKind::kMissing) return io::JsonFile::load(dir / file);
  }
  fail(ErrorCategory::kBadInput, "{}: no config.json in {}", path_.string(), dir.string());
}

VariantGuess detect_variant(const ModelFolder& folder) {
  const io::JsonFile config = folder.component_config("transformer");
  const int64_t heads = config.get_or<int64_t>("num_attention_heads", 0);
  const int64_t head_dim = config.get_or<int64_t>("attention_head_dim", 0);
  const int64_t layers = config.get_or<int64_t>("num_layers", 0);
  const int64_t in_channels = config.get_or<int64_t>("in_channels", 0);
  const int64_t out_channels = config.get_or<int64_t>("out_channels", 0);
  const bool has_image_encoder = folder.find("image_encoder") != nullptr;
  const bool two_experts = folder.find("transformer_2") != nullptr;
  const int64_t dim = heads * head_dim;

  std::string family;
  if (two_experts)
    family = "wan2.2-a14b";
  else if (out_channels == 48)
    family = "wan2.2-ti2v";
  else if (in_channels == 36 || has_image_encoder)
    family = "wan2.1-i2v";
  else
    family = "wan2.1-t2v";

  struct Known {
    const char* name;
    const char* family;
    int64_t dim, layers, in_channels;
  };
  static constexpr Known kKnown[] = {
      {"wan2.1-t2v-1.3b", "wan2.1-t2v", 1536, 30, 16},
      {"wan2.1-t2v-14b", "wan2.1-t2v", 5120, 40, 16},
      {"wan2.1-i2v-14b", "wan2.1-i2v", 5120, 40, 36},
      {"wan2.2-ti2v-5b", "wan2.2-ti2v", 3072, 30, 48},
      {"wan2.2-t2v-a14b", "wan2.2-a14b", 5120, 40, 16},
      {"wan2.2-i2v-a14b", "wan2.2-a14b", 5120, 40, 36},
  };
  for (const auto& k : kKnown) {
    if (k.family == family && k.dim == dim && k.layers == layers && k.in_channels == in_channels)
      return {k.name, family};
  }
  return {"custom (" + family + " style, dim " + std::to_string(dim) + ", " +
              std::to_string(layers) + " layers)",
          family};
}

}  // namespace rayvid::models
