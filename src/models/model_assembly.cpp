// ModelFolder::open(ModelSources): a model assembled from a DiT file and component folders, or a
// diffusers folder with some components replaced (see model_folder.h).
#include <fmt/format.h>

#include "core/check.h"
#include "io/regular_file.h"
#include "models/clip/single_file.h"
#include "models/model_folder.h"
#include "models/umt5/single_file.h"
#include "models/wan_dit/single_file.h"
#include "models/wan_vae/single_file.h"

namespace rayvid::models {
namespace fs = std::filesystem;
namespace {

// The scheduler Wan-AI's diffusers folders ship: UniPC on flow sigmas, the family's shift (the
// diffusers converter's values: 3 for Wan2.1 and A14B, 5 for TI2V, 16 for FLF2V).
nlohmann::json unipc_config(double flow_shift) {
  return {{"_class_name", "UniPCMultistepScheduler"},
          {"num_train_timesteps", 1000},
          {"prediction_type", "flow_prediction"},
          {"use_flow_sigmas", true},
          {"flow_shift", flow_shift},
          {"solver_order", 2},
          {"solver_type", "bh2"},
          {"predict_x0", true},
          {"lower_order_final", true},
          {"final_sigmas_type", "zero"},
          {"timestep_spacing", "linspace"},
          {"steps_offset", 0}};
}

// A component folder given on the command line: it must hold a config (a tokenizer folder holds
// spiece.model instead).
void require_component_folder(const fs::path& dir, const std::string& flag,
                              const std::string& what) {
  RAYVID_CHECK(io::path_kind(dir) == io::PathKind::kFolder, BadArgument,
               "{} {}: not a folder ({}); give the {} folder of a Wan-AI/*-Diffusers model", flag,
               dir.string(), io::describe_path(dir), what);
}

// A component given as a file: DiTs, umT5 encoders and Wan2.1 VAEs are read from single files so
// far.
void refuse_file(const fs::path& path, const std::string& flag, const std::string& what) {
  RAYVID_CHECK(io::path_kind(path) != io::PathKind::kRegular, Unsupported,
               "{} {}: rayvid reads the {} from a diffusers component folder, not from a single "
               "file yet; give the {} folder of the matching Wan-AI/*-Diffusers model",
               flag, path.string(), what, what);
}

ComponentEntry entry(std::string name, std::string library, std::string class_name, fs::path dir) {
  ComponentEntry e;
  e.name = std::move(name);
  e.library = std::move(library);
  e.class_name = std::move(class_name);
  e.dir = std::move(dir);
  return e;
}

ComponentEntry dit_entry(const std::string& name, const fs::path& file) {
  const auto dit = wan_dit::open_dit_file(file);
  ComponentEntry e =
      entry(name, "diffusers",
            dit.config.is_vace() ? "WanVACETransformer3DModel" : "WanTransformer3DModel", {});
  e.file = file;
  e.config = dit.config.to_diffusers_json();
  return e;
}

}  // namespace

ModelFolder ModelFolder::open(const ModelSources& s) {
  struct Override {
    const fs::path& path;
    const char* flag;
    const char* name;
    const char* what;
  };
  const Override overrides[] = {
      {s.text_encoder, "--text-encoder", "text_encoder", "text_encoder"},
      {s.tokenizer, "--tokenizer", "tokenizer", "tokenizer"},
      {s.vae, "--vae", "vae", "vae"},
      {s.image_encoder, "--image-encoder", "image_encoder", "image_encoder"}};
  const bool vae_is_file = io::path_kind(s.vae) == io::PathKind::kRegular;
  std::optional<wan_vae::VAEFile> vae_file;
  if (vae_is_file) vae_file = wan_vae::VAEFile::open(s.vae);  // validated up front
  auto vae_entry = [&](ComponentEntry e) {
    if (!vae_file) return e;
    e.dir.clear();
    e.file = s.vae;
    e.config = vae_file->config().to_json();
    return e;
  };
  const bool clip_is_file = io::path_kind(s.image_encoder) == io::PathKind::kRegular;
  std::optional<clip::ClipFile> clip_file;
  if (clip_is_file) clip_file = clip::open_clip_file(s.image_encoder);  // validated up front
  auto clip_entry = [&](ComponentEntry e) {
    if (!clip_file) return e;
    e.dir.clear();
    e.file = s.image_encoder;
    e.config = clip_file->config.to_json();
    return e;
  };
  const bool text_is_file = io::path_kind(s.text_encoder) == io::PathKind::kRegular;
  std::optional<umt5::UMT5File> text_file;
  if (text_is_file) text_file = umt5::open_umt5_file(s.text_encoder);  // validated up front
  for (const auto& o : overrides)
    if (!o.path.empty() && !(text_is_file && &o.path == &s.text_encoder) &&
        !(vae_is_file && &o.path == &s.vae) && !(clip_is_file && &o.path == &s.image_encoder)) {
      refuse_file(o.path, o.flag, o.what);
      require_component_folder(o.path, o.flag, o.what);
    }
  // A umT5 file that embeds its SentencePiece model brings its tokenizer.
  const bool tokenizer_embedded = s.tokenizer.empty() && text_file && text_file->embeds_tokenizer;
  auto text_entry = [&](ComponentEntry e) {
    if (!text_file) return e;
    e.dir.clear();
    e.file = s.text_encoder;
    e.config = text_file->config.to_json();
    return e;
  };
  auto tokenizer_entry = [&](ComponentEntry e) {
    if (!tokenizer_embedded) return e;
    e.dir.clear();
    e.file = s.text_encoder;  // the tokenizer is read from the umT5 file's spiece_model
    return e;
  };

  ModelFolder m;
  const bool model_is_file = io::path_kind(s.model) == io::PathKind::kRegular;
  if (!model_is_file) {
    m = open(s.model);
    RAYVID_CHECK(s.model_2.empty() || m.find("transformer_2") != nullptr, BadArgument,
                 "--model-2 {}: the second expert is for Wan2.2 A14B, and {} has one transformer",
                 s.model_2.string(), s.model.string());
  } else {
    // A DiT file: the pipeline as the matching diffusers folder declares it.
    m.path_ = s.model;
    ComponentEntry transformer = dit_entry("transformer", s.model);
    const auto config = wan_dit::WanDiTConfig::from_json(
        io::JsonFile::from_json(*transformer.config, s.model.string()));
    const std::string variant = wan_dit::dit_variant_name(config);
    const bool two = !s.model_2.empty();
    const bool clip = config.image_dim.has_value();
    const bool ti2v = config.out_channels == 48;
    const bool i2v = config.in_channels == 2 * config.out_channels + 4;
    std::vector<std::string> missing;
    if (s.vae.empty()) missing.push_back("--vae");
    if (s.text_encoder.empty()) missing.push_back("--text-encoder");
    if (s.tokenizer.empty() && !tokenizer_embedded) missing.push_back("--tokenizer");
    if (clip && s.image_encoder.empty()) missing.push_back("--image-encoder");
    RAYVID_CHECK(missing.empty(), BadArgument,
                 "--model {} is a single DiT file ({}); it also needs {}: the {} folders of the "
                 "matching Wan-AI/*-Diffusers model on Hugging Face (here {})",
                 s.model.string(), variant, fmt::join(missing, ", "),
                 clip ? "vae/, text_encoder/, tokenizer/ and image_encoder/"
                      : "vae/, text_encoder/ and tokenizer/",
                 ti2v   ? "Wan-AI/Wan2.2-TI2V-5B-Diffusers"
                 : two  ? "Wan-AI/Wan2.2-T2V-A14B-Diffusers or Wan-AI/Wan2.2-I2V-A14B-Diffusers"
                 : clip ? "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers"
                        : "Wan-AI/Wan2.1-T2V-1.3B-Diffusers or Wan-AI/Wan2.1-T2V-14B-Diffusers");
    RAYVID_CHECK(clip || s.image_encoder.empty(), BadArgument,
                 "--image-encoder {}: {} has no CLIP image branch (only Wan2.1 I2V and FLF2V do); "
                 "leave --image-encoder out",
                 s.image_encoder.string(), variant);
    const double shift = config.pos_embed_seq_len ? 16.0 : ti2v ? 5.0 : 3.0;
    nlohmann::json index = {{"_class_name", config.is_vace() ? "WanVACEPipeline"
                                            : i2v            ? "WanImageToVideoPipeline"
                                                             : "WanPipeline"},
                            {"_diffusers_version", "assembled by rayvid from single files"},
                            {"transformer", {"diffusers", transformer.class_name}},
                            {"vae", {"diffusers", "AutoencoderKLWan"}},
                            {"text_encoder", {"transformers", "UMT5EncoderModel"}},
                            {"tokenizer", {"transformers", "T5TokenizerFast"}},
                            {"scheduler", {"diffusers", "UniPCMultistepScheduler"}}};
    if (ti2v) index["expand_timesteps"] = true;
    m.components_.push_back(std::move(transformer));
    if (two) {
      RAYVID_CHECK(io::path_kind(s.model_2) == io::PathKind::kRegular, BadArgument,
                   "--model-2 {}: with a DiT file as --model, give the second expert as a DiT "
                   "file too",
                   s.model_2.string());
      ComponentEntry second = dit_entry("transformer_2", s.model_2);
      RAYVID_CHECK(*second.config == *m.components_.front().config && !config.is_vace() && !clip,
                   BadArgument,
                   "--model-2 {}: the two experts must be Wan2.2 A14B's high- and low-noise DiTs "
                   "(one architecture, no CLIP branch, not VACE); --model is {}",
                   s.model_2.string(), variant);
      index["transformer_2"] = {"diffusers", "WanTransformer3DModel"};
      index["boundary_ratio"] = i2v ? 0.9 : 0.875;  // Wan2.2 A14B's generate.py
      m.components_.push_back(std::move(second));
    }
    m.components_.push_back(vae_entry(entry("vae", "diffusers", "AutoencoderKLWan", s.vae)));
    m.components_.push_back(
        text_entry(entry("text_encoder", "transformers", "UMT5EncoderModel", s.text_encoder)));
    m.components_.push_back(
        tokenizer_entry(entry("tokenizer", "transformers", "T5TokenizerFast", s.tokenizer)));
    if (clip && clip_file) {  // clip_vision_h: Wan's preprocessing, no image_processor/
      index["image_encoder"] = {"transformers", "CLIPVisionModel"};
      m.components_.push_back(
          clip_entry(entry("image_encoder", "transformers", "CLIPVisionModel", {})));
    } else if (clip) {
      // The CLIP preprocessing config sits beside image_encoder/ in the diffusers layout.
      fs::path encoder = s.image_encoder;
      if (!encoder.has_filename()) encoder = encoder.parent_path();  // ".../image_encoder/"
      const fs::path processor = encoder.parent_path() / "image_processor";
      RAYVID_CHECK(io::path_kind(processor) == io::PathKind::kFolder, BadArgument,
                   "--image-encoder {}: no image_processor/ folder beside it; give the "
                   "image_encoder/ folder of a Wan-AI Wan2.1 I2V diffusers model, which has both",
                   s.image_encoder.string());
      index["image_encoder"] = {"transformers", "CLIPVisionModel"};
      index["image_processor"] = {"transformers", "CLIPImageProcessor"};
      m.components_.push_back(
          entry("image_encoder", "transformers", "CLIPVisionModel", s.image_encoder));
      m.components_.push_back(
          entry("image_processor", "transformers", "CLIPImageProcessor", processor));
    }
    ComponentEntry scheduler = entry("scheduler", "diffusers", "UniPCMultistepScheduler", {});
    scheduler.config = unipc_config(shift);
    m.components_.push_back(std::move(scheduler));
    m.index_ = io::JsonFile::from_json(index, s.model.string() + " (assembled model_index.json)");
  }

  // Replacements (of a folder's components; for a DiT file they were placed above).
  if (!model_is_file) {
    for (auto& c : m.components_) {
      for (const auto& o : overrides)
        if (!o.path.empty() && c.name == o.name) c.dir = o.path;
      if (c.name == "text_encoder") c = text_entry(c);
      if (c.name == "image_encoder") c = clip_entry(c);
      if (c.name == "vae") c = vae_entry(c);
      if (c.name == "tokenizer") c = tokenizer_entry(c);
      if (c.name == "transformer_2" && !s.model_2.empty()) {
        if (io::path_kind(s.model_2) == io::PathKind::kRegular) {
          c = dit_entry("transformer_2", s.model_2);
        } else {
          require_component_folder(s.model_2, "--model-2", "transformer_2");
          c.dir = s.model_2;
        }
      }
    }
    for (const auto& o : overrides)
      RAYVID_CHECK(o.path.empty() || m.find(o.name) != nullptr, BadArgument,
                   "{} {}: {} has no {} component to replace", o.flag, o.path.string(),
                   s.model.string(), o.name);
  }
  return m;
}

}  // namespace rayvid::models
