// Model folder checks for `rayvid inspect`: see folder_check.h.
#include "engine/folder_check.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <map>

#include "engine/request_plan.h"
#include "io/safetensors.h"
#include "models/clip/image_encoder.h"
#include "models/clip/single_file.h"
#include "models/umt5/single_file.h"
#include "models/umt5/text_encoder.h"
#include "models/wan_dit/model.h"
#include "models/wan_dit/single_file.h"
#include "models/wan_vae/single_file.h"
#include "models/wan_vae/wan_vae.h"
#include "models/weights.h"

namespace rayvid::engine {
namespace {

// Names and shapes of a component's checkpoint; integer or bool tensors are problems (every Wan
// weight is floating point), as the loader would find.
std::map<std::string, std::vector<int64_t>> checkpoint_shapes(const io::WeightStore& store,
                                                              const std::string& label,
                                                              std::vector<std::string>& problems) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& name : store.names()) {
    const auto info = store.info(name);
    const auto dtype = info.dtype;
    if (dtype != io::StDType::kF64 && dtype != io::StDType::kF32 && dtype != io::StDType::kF16 &&
        dtype != io::StDType::kBF16 && dtype != io::StDType::kF8E4M3 &&
        dtype != io::StDType::kF8E5M2) {
      problems.push_back(fmt::format("{}: {} is stored as {}, but it is a floating-point weight",
                                     label, name, io::dtype_name(dtype)));
    }
    shapes[name] = info.shape;
  }
  return shapes;
}

// Builds one component on the meta device from shapes alone; the strict loader reports every
// missing, unexpected and wrong-shape tensor.
void check_component(const models::ModelFolder& folder, const std::string& name,
                     std::vector<std::string>& problems) {
  const auto* component = folder.find(name);
  if (component == nullptr) return;
  const std::string label = component->label();
  std::map<std::string, std::vector<int64_t>> shapes;
  if (component->file.empty()) {
    shapes = checkpoint_shapes(io::WeightStore::open_folder(component->dir), label, problems);
  } else {  // a single file: its tensors as the loader will see them (prefix gone, fp8 read)
    auto add = [&](const models::WeightSource& source) {
      for (const auto& n : source.names()) shapes[n] = *source.shape(n);
    };
    if (name == "text_encoder")
      add(models::umt5::open_umt5_file(component->file).source);
    else if (name == "vae")
      add(models::wan_vae::VAEFile::open(component->file));
    else if (name == "image_encoder")
      add(models::clip::open_clip_file(component->file).source);
    else
      add(models::wan_dit::open_dit_file(component->file).source);
  }
  const models::ShapeOnlySource source(std::move(shapes), label);
  // ShapeOnlySource hands out meta tensors, so nothing is allocated; the models' own small
  // tables (RoPE, say) are built on the CPU as in the architecture tests.
  const c10::Device meta(c10::kCPU);
  if (name == "transformer" || name == "transformer_2") {
    models::wan_dit::WanDiTOptions options;
    options.device = meta;
    models::wan_dit::WanDiT(models::wan_dit::WanDiTConfig::from_json(folder.component_config(name)),
                            source, options);
  } else if (name == "vae") {
    models::wan_vae::WanVAE::from_source(
        models::wan_vae::WanVAEConfig::from_json(folder.component_config(name)), source, meta,
        c10::kFloat);
  } else if (name == "text_encoder") {
    models::umt5::build_umt5_encoder(
        models::umt5::UMT5Config::from_json(folder.component_config(name)), source, meta,
        c10::kFloat);
  } else if (name == "image_encoder") {
    models::clip::build_clip_vision_encoder(
        models::clip::CLIPVisionConfig::from_json(folder.component_config(name)), source, meta,
        c10::kFloat);
  }
}

}  // namespace

std::vector<std::string> check_model_folder(const models::ModelFolder& folder) {
  std::vector<std::string> problems;
  try {
    describe_model(folder);  // every config, and the components against each other
  } catch (const Error& e) {
    problems.push_back(e.what());
    return problems;  // the shape checks need valid configs
  }
  for (const char* name :
       {"transformer", "transformer_2", "vae", "text_encoder", "image_encoder"}) {
    try {
      check_component(folder, name, problems);
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
  return problems;
}

}  // namespace rayvid::engine
