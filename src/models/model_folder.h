// A model folder in the diffusers layout: model_index.json names the pipeline class and its
// components (transformer/, vae/, text_encoder/, ...). This is what `rayvid inspect` shows and
// what the engine opens.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
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
  // A single-file checkpoint instead of a folder (a DiT as users download it, --model FILE), with
  // the config detected from its tensors; `dir` is then empty.
  std::filesystem::path file;
  std::optional<nlohmann::json> config;  // a config not read from `dir` (detected, or defaults)
  bool has_weights() const;  // a folder with config.json, or a file (checked when loaded)
  // What errors and provenance call it: the file, the folder, or the defaults it was made from.
  std::string label() const {
    return !file.empty() ? file.string()
           : dir.empty() ? std::string("(defaults of the matching diffusers folder)")
                         : dir.string();
  }
};

// Where each component comes from when not all from one diffusers folder (the CLI's --model,
// --model-2, --text-encoder, --tokenizer, --vae, --image-encoder). `model` is a diffusers folder
// (the others then replace its components) or a single-file DiT (the others then supply the rest).
// Components given as folders are diffusers component folders (config.json + weights).
struct ModelSources {
  std::filesystem::path model, model_2, text_encoder, tokenizer, vae, image_encoder;
};

class ModelFolder {
 public:
  static ModelFolder open(const std::filesystem::path& folder);
  // The components from their sources (see ModelSources). For a DiT file, model_index.json and the
  // scheduler config are what the matching Wan-AI/*-Diffusers folder has (UniPC, the family's
  // flow shift); a component the variant needs and the sources lack is one kBadArgument naming
  // the flags and where users get the files.
  static ModelFolder open(const ModelSources& sources);

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
