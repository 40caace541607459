// A model folder in the diffusers layout: model_index.json names the pipeline class and its
// components (transformer/, vae/, text_encoder/, ...). This is what `rayvid inspect` shows and
// what the engine opens.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "io/json_file.h"

namespace rayvid::models {

struct ComponentEntry {
  std::string name;           // "transformer"
  std::string library;        // "diffusers" or "transformers"
  std::string class_name;     // "WanTransformer3DModel"
  std::filesystem::path dir;  // <folder>/transformer
  bool has_weights() const;   // a folder with config.json (weights are checked when loaded)
};

class ModelFolder {
 public:
  static ModelFolder open(const std::filesystem::path& folder);

  const std::filesystem::path& path() const { return path_; }
  const io::JsonFile& index() const { return index_; }
  std::string pipeline_class() const { return index_.require<std::string>("_class_name"); }
  const std::vector<ComponentEntry>& components() const { return components_; }
  const ComponentEntry* find(const std::string& name) const;
  const ComponentEntry& require(const std::string& name) const;
  io::JsonFile component_config(const std::string& name) const;  // <name>/config.json

 private:
  std::filesystem::path path_;
  io::JsonFile index_;
  std::vector<ComponentEntry> components_;
};

// Which published Wan variant a folder's shapes match (by the transformer config), or "custom".
struct VariantGuess {
  std::string name;    // "wan2.1-t2v-1.3b", ..., or "custom (tiny wan2.2-ti2v-style)"
  std::string family;  // "wan2.1-t2v", "wan2.1-i2v", "wan2.2-ti2v", "wan2.2-a14b"
};
VariantGuess detect_variant(const ModelFolder& folder);

}  // namespace rayvid::models
