// Model and request planning: defaults, validation, output naming and the memory estimate.
#include "engine/request_plan.h"

#include <set>

#include <ATen/ATen.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>

#include "core/check.h"
#include "core/memory.h"
#include "engine/memory_model.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "io/video.h"
#include "models/clip/config.h"
#include "models/umt5/config.h"
#include "models/umt5/utf8.h"
#include "models/wan_dit/config.h"
#include "models/wan_dit/weights.h"
#include "models/wan_vae/config.h"
#include "pipeline/recipes.h"

namespace rayvid {

uint64_t parse_seed(const std::string& text) {
  // Decimal only, as Python's int() of a command-line string; the range is torch's.
  const bool negative = !text.empty() && text[0] == '-';
  const char* first = text.data() + (negative || (!text.empty() && text[0] == '+') ? 1 : 0);
  const char* last = text.data() + text.size();
  uint64_t magnitude = 0;
  const auto [end, ec] = std::from_chars(first, last, magnitude);
  RAYVID_CHECK(first != last && end == last && ec == std::errc(), BadArgument,
               "--seed '{}' is not an integer within -9223372036854775808..18446744073709551615 "
               "(the range torch.manual_seed accepts)",
               text);
  if (!negative) return magnitude;
  RAYVID_CHECK(magnitude <= (uint64_t{1} << 63), BadArgument,
               "--seed {} is below -9223372036854775808, the smallest seed torch.manual_seed "
               "accepts",
               text);
  return ~magnitude + 1;  // two's complement, as torch reinterprets a negative int64
}

LoraOption parse_lora_option(const std::string& text) {
  LoraOption out{text, 1.0};
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return out;
  const std::string tail = text.substr(colon + 1);
  // A strength is digits, sign, point or exponent only; anything else belongs to the path.
  if (tail.empty() || tail.find_first_not_of("0123456789+-.eE") != std::string::npos) return out;
  double value = 0;
  const auto [end, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), value);
  RAYVID_CHECK(end == tail.data() + tail.size() && ec == std::errc() && std::isfinite(value),
               BadArgument, "--lora '{}': the strength '{}' is not a number; use FILE or FILE:0.8",
               text, tail);
  out.path = text.substr(0, colon);
  out.strength = value;
  return out;
}

namespace engine {
namespace fs = std::filesystem;
namespace {

// The tokenizer's validating decoder, so the rules and offsets are the same; a prompt is an
// argument, so its error is kBadArgument (exit 2), not a bad file.
void require_utf8(const std::string& text, const char* flag) {
  try {
    models::umt5::decode_utf8(text);
  } catch (const Error& e) {
    fail(ErrorCategory::kBadArgument, "{}: {}", flag, e.what());
  }
}

}  // namespace

namespace {

// Every component's config, parsed and validated (file and field named in each error), and the
// components checked against each other, before anything reads a field: a zero patch size or a
// transformer of another family must stop here with the file named, not crash or fail deep inside
// a forward pass.
struct ValidatedConfigs {
  models::wan_dit::WanDiTConfig dit;
  models::wan_vae::WanVAEConfig vae;
  models::umt5::UMT5Config text;
  std::optional<models::clip::CLIPVisionConfig> image;
};

ValidatedConfigs validate_components(const models::ModelFolder& folder) {
  ValidatedConfigs c;
  const auto& transformer = folder.require("transformer");
  const std::string dit_file =
      transformer.file.empty() ? (transformer.dir / "config.json").string() : transformer.label();
  c.dit = models::wan_dit::WanDiTConfig::from_json(folder.component_config("transformer"));
  const auto& vae_entry = folder.require("vae");
  const std::string vae_file =
      vae_entry.file.empty() ? (vae_entry.dir / "config.json").string() : vae_entry.label();
  c.vae = models::wan_vae::WanVAEConfig::from_json(folder.component_config("vae"));
  const auto& text_entry = folder.require("text_encoder");
  const std::string text_file =
      text_entry.file.empty() ? (text_entry.dir / "config.json").string() : text_entry.label();
  c.text = models::umt5::UMT5Config::from_json(folder.component_config("text_encoder"));
  if (folder.find("image_encoder")) {
    c.image = models::clip::CLIPVisionConfig::from_json(folder.component_config("image_encoder"));
    // A CLIP file comes without one (its preprocessing is Wan's at the tower's size).
    if (const auto* processor = folder.find("image_processor"))
      models::clip::CLIPImageProcessorConfig::load(processor->dir);
  }

  const auto& dit = c.dit;
  RAYVID_CHECK(dit.patch_size[0] == 1 && dit.patch_size[1] == dit.patch_size[2], Unsupported,
               "{}: patch_size [{}, {}, {}] is not supported; rayvid runs Wan's [1, s, s] patches",
               dit_file, dit.patch_size[0], dit.patch_size[1], dit.patch_size[2]);
  const int64_t z = c.vae.z_dim;
  RAYVID_CHECK(dit.out_channels == z, BadInput,
               "{}: out_channels {} does not fit {} (z_dim {}): the transformer and the VAE are "
               "from different Wan families; use one model folder's components together",
               dit_file, dit.out_channels, vae_file, z);
  RAYVID_CHECK(dit.in_channels == z || dit.in_channels == 2 * z + 4, BadInput,
               "{}: in_channels {} does not fit {} (z_dim {}: expected {} for text-to-video or {} "
               "for Wan2.1 image-to-video); use one model folder's components together",
               dit_file, dit.in_channels, vae_file, z, z, 2 * z + 4);
  RAYVID_CHECK(dit.text_dim == c.text.d_model, BadInput,
               "{}: text_dim {} does not fit {} (d_model {}); use one model folder's components "
               "together",
               dit_file, dit.text_dim, text_file, c.text.d_model);
  RAYVID_CHECK(dit.image_dim.has_value() == c.image.has_value(), BadInput,
               "{}: image_dim is {} but the folder {} an image_encoder; use one model folder's "
               "components together",
               dit_file, dit.image_dim ? std::to_string(*dit.image_dim) : "null",
               c.image ? "has" : "has no");
  if (c.image) {
    RAYVID_CHECK(*dit.image_dim == c.image->hidden_size, BadInput,
                 "{}: image_dim {} does not fit image_encoder/config.json (hidden_size {})",
                 dit_file, *dit.image_dim, c.image->hidden_size);
  }
  if (const auto* second = folder.find("transformer_2")) {
    const auto dit2 =
        models::wan_dit::WanDiTConfig::from_json(folder.component_config("transformer_2"));
    RAYVID_CHECK(dit2.in_channels == dit.in_channels && dit2.out_channels == dit.out_channels &&
                     dit2.text_dim == dit.text_dim && dit2.patch_size == dit.patch_size,
                 BadInput,
                 "{}: the second expert's channels, text_dim or patch_size differ from the first "
                 "expert's ({}); both experts must come from one model",
                 second->file.empty() ? (second->dir / "config.json").string() : second->label(),
                 dit_file);
  }
  return c;
}

}  // namespace

void check_lora_options(const EngineOptions& options, const ModelPlan& model) {
  for (const auto* list : {&options.loras, &options.loras_2}) {
    for (const LoraOption& l : *list) {
      std::error_code ec;
      RAYVID_CHECK(!l.path.empty() && fs::is_regular_file(l.path, ec), BadInput,
                   "LoRA file '{}' not found; give the path of a .safetensors LoRA", l.path);
      RAYVID_CHECK(std::isfinite(l.strength), BadArgument,
                   "LoRA strength {} of {} is not a finite number; use e.g. {}:0.8", l.strength,
                   l.path, l.path);
    }
  }
  RAYVID_CHECK(options.loras_2.empty() || model.two_experts, Unsupported,
               "--lora-2 is for the low-noise expert of a two-expert model (Wan2.2 A14B); this "
               "model ({}) has one transformer: use --lora",
               model.variant);
}

ModelPlan describe_model(const models::ModelFolder& folder) {
  ModelPlan p;
  const ValidatedConfigs configs = validate_components(folder);
  const auto guess = models::detect_variant(folder);
  p.variant = guess.name;
  p.family = guess.family;
  p.pipeline_class = folder.pipeline_class();
  RAYVID_CHECK(p.pipeline_class == "WanPipeline" || p.pipeline_class == "WanImageToVideoPipeline" ||
                   p.pipeline_class == "WanVACEPipeline",
               Unsupported,
               "{}: pipeline {} is not supported; rayvid runs WanPipeline, "
               "WanImageToVideoPipeline and WanVACEPipeline folders",
               folder.path().string(), p.pipeline_class);
  p.vace = configs.dit.is_vace();
  RAYVID_CHECK(p.vace == (p.pipeline_class == "WanVACEPipeline"), BadInput,
               "{}: a {} folder with a {} transformer; a WanVACEPipeline needs a VACE transformer "
               "(vace_layers) and only it",
               folder.path().string(), p.pipeline_class, p.vace ? "VACE" : "plain");
  if (p.vace) {
    p.family = "wan2.1-vace";
    if (p.variant.starts_with("wan2.1-t2v-")) p.variant = "wan2.1-vace-" + p.variant.substr(11);
  }
  const auto& index = folder.index();
  p.expand_timesteps = index.get_or<bool>("expand_timesteps", false);
  p.boundary_ratio = index.get_or<double>("boundary_ratio", 0.0);
  p.has_image_encoder = configs.image.has_value();
  p.two_experts = folder.find("transformer_2") != nullptr;
  RAYVID_CHECK(!index.has("boundary_ratio") || (p.boundary_ratio > 0 && p.boundary_ratio < 1),
               BadInput,
               "{}: boundary_ratio {} must be within 0 < ratio < 1 (the fraction of the "
               "timesteps where the low-noise expert takes over; Wan2.2 A14B: 0.875 / 0.9)",
               index.label(), p.boundary_ratio);
  RAYVID_CHECK(!p.two_experts || p.boundary_ratio > 0, BadInput,
               "{}: two transformers but no boundary_ratio in model_index.json",
               folder.path().string());
  const bool i2v = p.pipeline_class == "WanImageToVideoPipeline";
  p.accepts_image = i2v || p.expand_timesteps;  // TI2V folders do both
  p.requires_image = i2v;
  // diffusers' WanImageToVideoPipeline(last_image=...): the concat conditioning gets the last
  // frame too; CLIP tokens of both images need the FLF2V embedder's positions (a plain Wan2.1
  // I2V embedder would see a batch of two). TI2V's first-frame replacement has no last frame.
  const bool flf2v = configs.dit.pos_embed_seq_len.has_value();
  p.accepts_last_image = i2v && !p.expand_timesteps && (flf2v || !p.has_image_encoder);
  p.requires_last_image = flf2v;
  if (p.vace) p.accepts_image = p.accepts_last_image = true;  // keyframes 0 and last
  p.presets = p.expand_timesteps ? pipeline::preset_family_ti2v() : pipeline::preset_family_wan21();

  p.dit_dim = configs.dit.dim;
  p.dit_ffn = configs.dit.ffn_dim;
  p.dit_layers = configs.dit.num_layers;
  p.vae_shape = {static_cast<int>(configs.vae.z_dim),
                 static_cast<int>(configs.vae.scale_factor_spatial),
                 static_cast<int>(configs.vae.scale_factor_temporal)};
  p.presets.spatial_multiple =
      static_cast<int>(configs.vae.scale_factor_spatial * configs.dit.patch_size[1]);
  p.scheduler = sampling::SchedulerConfig::from_json(folder.component_config("scheduler"));

  // Defaults from the reference generate.py (wan-family.md 1.2).
  if (p.family == "wan2.2-a14b") {
    p.default_steps = 40;
    p.default_guidance = i2v ? 3.5 : 4.0;
    p.default_guidance_2 = i2v ? 3.5 : 3.0;
  } else if (p.family == "wan2.1-i2v") {
    p.default_steps = 40;
    p.default_guidance = p.default_guidance_2 = 5.0;
  }
  std::set<fs::path> counted;  // a umT5 file that embeds its tokenizer is named twice
  auto count = [&](const io::WeightStore& store, const std::string& component) {
    const bool dit = component.starts_with("transformer");
    for (const auto& name : store.names()) {
      const auto info = store.info(name);
      if (dit && (info.dtype == io::StDType::kF8E4M3 || info.dtype == io::StDType::kF8E5M2))
        p.dit_stored_fp8 = true;
      if (!at::isFloatingType(io::to_scalar_type(info.dtype))) continue;  // spiece_model, ...
      uint64_t numel = 1;
      for (int64_t d : info.shape) numel *= static_cast<uint64_t>(d);
      p.weight_parameters += numel;
      p.component_parameters[component] += numel;
    }
  };
  for (const auto& c : folder.components()) {
    std::error_code ec;
    if (!c.file.empty()) {
      const auto bytes = fs::file_size(c.file, ec);
      if (ec || !counted.insert(c.file).second) continue;
      p.weight_bytes += bytes;
      count(io::WeightStore::open_file(c.file), c.name);
      continue;
    }
    if (!fs::is_directory(c.dir, ec)) continue;
    bool has_weights = false;
    for (const auto& item : fs::directory_iterator(c.dir, ec)) {
      if (item.path().extension() != ".safetensors") continue;
      const auto bytes = fs::file_size(item.path(), ec);  // checked by ModelFolder::open
      if (!ec) p.weight_bytes += bytes;
      has_weights = true;
    }
    if (has_weights) count(io::WeightStore::open_folder(c.dir), c.name);
  }
  auto params = [&](const std::string& component) {
    const auto it = p.component_parameters.find(component);
    return it == p.component_parameters.end() ? 0.0 : static_cast<double>(it->second);
  };
  ModelMemoryFacts& m = p.memory;
  m.experts = p.two_experts ? 2 : 1;
  m.dit_parameters = params("transformer");
  m.dit_fp8_storable = static_cast<double>(models::wan_dit::fp8_storable_parameters(configs.dit));
  m.dit_dim = configs.dit.dim;
  m.dit_ffn = configs.dit.ffn_dim;
  m.dit_layers = configs.dit.num_layers;
  m.token_stride = p.presets.spatial_multiple;
  m.text_tokens = p.max_sequence_length;
  m.image_tokens = p.has_image_encoder ? (configs.dit.pos_embed_seq_len ? 2 * 257 : 257) : 0;
  m.text_encoder_parameters = params("text_encoder");
  m.image_encoder_parameters = params("image_encoder");
  m.vae_parameters = params("vae");
  m.vae = configs.vae;
  return p;
}

pipeline::VaceInputs vace_inputs(const RequestPlan& plan) {
  const auto& shape = plan.shape;
  pipeline::VaceInputs in;
  in.scale = plan.control_scale;
  for (const auto& [index, path] : plan.keyframes)
    in.keyframes[index] = io::resize_cover_crop(io::read_image(path), shape.width, shape.height);
  for (const auto& path : plan.references) in.references.push_back(io::read_image(path));
  if (plan.control_video) {
    io::VideoReader reader(*plan.control_video);
    io::VideoFrames video{shape.width, shape.height, 0, {}};
    std::vector<uint8_t> rgb;
    while (video.num_frames < shape.frames && reader.next(rgb)) {
      io::Image frame{reader.info().width, reader.info().height, rgb};
      if (frame.width != shape.width || frame.height != shape.height)
        frame = io::resize_cover_crop(frame, shape.width, shape.height);
      video.rgb.insert(video.rgb.end(), frame.rgb.begin(), frame.rgb.end());
      ++video.num_frames;
    }
    RAYVID_CHECK(video.num_frames == shape.frames, BadInput,
                 "--control-video {}: {} frames, and this video needs {}; give a longer one or "
                 "fewer --frames",
                 plan.control_video->string(), video.num_frames, shape.frames);
    in.control_video = std::move(video);
  }
  return in;
}

std::string default_output_name(const GenerateRequest& request) {
  std::string slug;
  for (char ch : request.prompt) {
    if (std::isalnum(static_cast<unsigned char>(ch)))
      slug += static_cast<char>(std::tolower(ch));
    else if (!slug.empty() && slug.back() != '-')
      slug += '-';
    if (slug.size() >= 40) break;
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  if (slug.empty()) slug = "video";
  const std::time_t now = std::time(nullptr);
  return fmt::format("rayvid-{:%Y%m%d-%H%M%S}-seed{}-{}.mp4", fmt::localtime(now), request.seed,
                     slug);
}

MemoryEstimate estimate_request_memory(const ModelPlan& model, const pipeline::VideoShape& shape,
                                       int64_t dtype_bytes, bool guided, bool fp8_storage,
                                       MemoryProfile profile, bool gpu) {
  MemorySettings settings;
  settings.dtype_bytes = dtype_bytes;
  settings.guided = guided;
  settings.fp8_storage = fp8_storage;
  settings.profile = profile;
  settings.gpu = gpu;
  return estimate_memory(model.memory, shape, settings);
}

double estimate_weight_bytes(const ModelPlan& model, int64_t dtype_bytes, bool fp8_storage,
                             MemoryProfile profile) {
  const pipeline::VideoShape none{16, 16, 1, 16};
  return estimate_request_memory(model, none, dtype_bytes, true, fp8_storage, profile, false)
             .resident_weights *
         1.05;
}

double estimate_peak_bytes(const ModelPlan& model, const pipeline::VideoShape& shape,
                           int64_t dtype_bytes, bool guided, bool fp8_storage,
                           MemoryProfile profile) {
  return estimate_request_memory(model, shape, dtype_bytes, guided, fp8_storage, profile, false)
      .device_peak;
}

namespace {

// A recipe fixes steps, schedule, sampler and guidance together; a given value that contradicts
// it is refused (never overridden), one that agrees is fine.
void apply_recipe(const pipeline::SamplingRecipe& r, const GenerateRequest& request,
                  RequestPlan& plan) {
  auto agree = [&](bool contradicts, const std::string& given, const std::string& wanted) {
    RAYVID_CHECK(!contradicts, BadArgument,
                 "{} contradicts --recipe {}, which runs {}; drop one of the two", given, r.name,
                 wanted);
  };
  agree(request.steps && *request.steps != r.steps, fmt::format("--steps {}", plan.steps),
        fmt::format("{} steps", r.steps));
  agree(!request.sampler.empty() && request.sampler != r.sampler, "--sampler " + request.sampler,
        "the " + r.sampler + " sampler");
  const bool recipe_guided = r.guidance_scale > 1;
  for (const auto& [value, flag] : {std::pair{request.guidance_scale, "--guidance-scale"},
                                    std::pair{request.guidance_scale_2, "--guidance-scale-2"}}) {
    agree(value && (*value > 1) != recipe_guided, fmt::format("{} {}", flag, *value),
          recipe_guided ? "with guidance" : "without guidance");
  }
  agree(request.shift && *request.shift != r.shift, fmt::format("--shift {}", plan.shift),
        fmt::format("shift {}", r.shift));
  plan.steps = r.steps;
  plan.sampler = r.sampler;
  plan.shift = r.shift;
  plan.guidance_scale = plan.guidance_scale_2 = r.guidance_scale;
  plan.guided = recipe_guided;
  plan.sigmas = r.sigmas;
  plan.recipe = r.name;
}

// --cache and its options: validated, and the published table chosen.
// VACE: --image and --last-image are keyframes 0 and F-1; every keyframe inside the video, none
// given twice; images decodable; the scale finite.
void plan_vace_inputs(const GenerateRequest& request, RequestPlan& plan) {
  const int frames = plan.shape.frames;
  auto add_keyframe = [&](int index, const fs::path& path, const std::string& flag) {
    RAYVID_CHECK(index >= 0 && index < frames, BadArgument,
                 "{}: frame {} is outside the video's {} frames (0..{})", flag, index, frames,
                 frames - 1);
    RAYVID_CHECK(!plan.keyframes.count(index), BadArgument,
                 "{}: frame {} is given twice (--image is frame 0, --last-image frame {})", flag,
                 index, frames - 1);
    io::read_image(path);
    plan.keyframes[index] = path;
  };
  if (plan.image) add_keyframe(0, *plan.image, "--image");
  if (plan.last_image) add_keyframe(frames - 1, *plan.last_image, "--last-image");
  for (const auto& [index, path] : request.keyframes)
    add_keyframe(index, path, fmt::format("--keyframe {}:{}", index, path));
  for (const auto& ref : request.reference_images) {
    io::read_image(ref);
    plan.references.emplace_back(ref);
  }
  if (request.control_video) plan.control_video = *request.control_video;
  if (request.control_scale) {
    RAYVID_CHECK(std::isfinite(*request.control_scale) && *request.control_scale >= 0 &&
                     *request.control_scale <= 10,
                 BadArgument, "--control-scale {} must be within 0..10 (1 = as trained)",
                 *request.control_scale);
    plan.control_scale = *request.control_scale;
  }
}

void plan_step_cache(const ModelPlan& model, const GenerateRequest& request, RequestPlan& plan) {
  if (request.cache.empty()) {
    RAYVID_CHECK(!request.cache_threshold && request.cache_table.empty() && !request.teacache_e0 &&
                     !request.cache_max_skip && !request.cache_retention,
                 BadArgument,
                 "--cache-threshold, --cache-table, --teacache-e0, --cache-max-skip and "
                 "--cache-retention only apply with --cache teacache|magcache");
    return;
  }
  const std::string& method = request.cache;
  RAYVID_CHECK(method == "teacache" || method == "magcache" || method == "fbcache", BadArgument,
               "--cache '{}' is unknown; use teacache, magcache or fbcache", method);
  RAYVID_CHECK(!model.vace, Unsupported,
               "--cache: step caching is not checked with VACE's hints yet; run this VACE model "
               "without --cache");
  RAYVID_CHECK(request.cache_threshold.has_value(), BadArgument,
               "--cache {} needs --cache-threshold (TeaCache: 0.05-0.08 for 1.3B, 0.14-0.3 for "
               "14B; MagCache: 0.06-0.24; FirstBlockCache: 0.05-0.2)",
               method);
  // No upper bound: a larger threshold only skips more, within the method's own rules (TeaCache's
  // first and last steps, MagCache's K and retention).
  RAYVID_CHECK(std::isfinite(*request.cache_threshold) && *request.cache_threshold > 0, BadArgument,
               "--cache-threshold {} must be a positive number", *request.cache_threshold);
  RAYVID_CHECK(!model.two_experts, Unsupported,
               "--cache does not support two-expert models (Wan2.2 A14B) yet; run without it");
  RAYVID_CHECK(method == "teacache" || !request.teacache_e0, BadArgument,
               "--teacache-e0 applies to --cache teacache only");
  RAYVID_CHECK(method == "magcache" || (!request.cache_max_skip && !request.cache_retention),
               BadArgument,
               "--cache-max-skip and --cache-retention apply to --cache magcache only");
  pipeline::StepCacheSettings s;
  s.method = method;
  s.threshold = *request.cache_threshold;
  s.teacache_e0 = request.teacache_e0;
  s.max_skip_steps = request.cache_max_skip.value_or(3);
  s.retention_ratio = request.cache_retention.value_or(0.2);
  RAYVID_CHECK(s.max_skip_steps >= 1 && s.max_skip_steps <= 1000, BadArgument,
               "--cache-max-skip {} must be within 1..1000", s.max_skip_steps);
  RAYVID_CHECK(std::isfinite(s.retention_ratio) && s.retention_ratio >= 0 && s.retention_ratio <= 1,
               BadArgument, "--cache-retention {} must be within 0..1", s.retention_ratio);
  if (method == "fbcache") {  // model-independent: no table
    RAYVID_CHECK(request.cache_table.empty(), BadArgument,
                 "--cache-table does not apply to --cache fbcache (it needs no published table)");
    plan.step_cache = s;
    return;
  }
  std::string table = request.cache_table;
  if (table.empty()) {  // the model's own published table, if it has one
    const bool hd = int64_t{plan.shape.width} * plan.shape.height > 832 * 480;
    if (model.family == "wan2.1-t2v" && model.dit_dim == 1536) table = "t2v-1.3b";
    if (model.family == "wan2.1-t2v" && model.dit_dim == 5120) table = "t2v-14b";
    if (model.family == "wan2.1-i2v" && model.dit_dim == 5120) table = hd ? "i2v-720p" : "i2v-480p";
    RAYVID_CHECK(!table.empty(), Unsupported,
                 "no published {} table for this model ({}); name one with --cache-table ({}) to "
                 "use it anyway",
                 method, model.variant, fmt::join(pipeline::step_cache_table_names(), ", "));
  }
  RAYVID_CHECK(pipeline::fill_step_cache_table(table, s), BadArgument,
               "--cache-table '{}' is unknown; use {}", table,
               fmt::join(pipeline::step_cache_table_names(), ", "));
  plan.step_cache = s;
}

}  // namespace

namespace {

// A file the user named with `flag`: a regular file, else kBadInput saying what it is instead.
void require_input_file(const fs::path& path, const std::string& flag, bool video = false) {
  std::error_code ec;  // the non-throwing overloads: a symlink loop is a bad input too
  RAYVID_CHECK(fs::is_regular_file(path, ec), BadInput, "{} {}: {}", flag, path.string(),
               !fs::is_directory(path, ec) ? "file not found"
               : video
                   ? "is a folder, not a video file; pass an MP4"
                   : "is a folder, not an image file; pass the path of a PNG, JPEG, WebP or BMP");
}

}  // namespace

RequestPlan plan_request(const ModelPlan& model, const GenerateRequest& request,
                         const LoadOptions& load, bool weights_loaded,
                         std::optional<MemoryProfile> profile) {
  RequestPlan plan;
  RAYVID_CHECK(!request.prompt.empty(), BadArgument, "--prompt is required and must not be empty");
  require_utf8(request.prompt, "--prompt");
  require_utf8(request.negative_prompt, "--negative-prompt");
  if (request.image) {
    RAYVID_CHECK(model.accepts_image, Unsupported,
                 "this model ({}) is text-to-video only; drop --image or use an image-to-video "
                 "model (Wan2.1 I2V, Wan2.2 TI2V-5B or I2V-A14B)",
                 model.variant);
    require_input_file(*request.image, "--image");
    // Header first, then decoding (read_image refuses oversized images before allocating them):
    // an unreadable image fails here, before the model loads.
    io::read_image(*request.image);
    plan.image = *request.image;
  } else {
    RAYVID_CHECK(!model.requires_image, BadArgument,
                 "this model ({}) is image-to-video: pass --image PATH", model.variant);
  }
  for (const auto& ref : request.reference_images) require_input_file(ref, "--reference");
  for (const auto& [index, path] : request.keyframes)
    require_input_file(path, fmt::format("--keyframe {}:", index));
  if (request.control_video) require_input_file(*request.control_video, "--control-video", true);
  // Reference images, keyframes and control videos: a VACE model's inputs, refused elsewhere,
  // never dropped silently.
  const char* vace_input = !request.reference_images.empty() ? "--reference"
                           : !request.keyframes.empty()      ? "--keyframe"
                           : request.control_video           ? "--control-video"
                           : request.control_scale           ? "--control-scale"
                                                             : nullptr;
  RAYVID_CHECK(vace_input == nullptr || model.vace, Unsupported,
               "{}: this model ({}) cannot use it; reference images, keyframes and control videos "
               "need a Wan2.1 VACE model. Leave out {}",
               vace_input ? vace_input : "", model.variant, vace_input ? vace_input : "");
  if (request.last_image) {
    RAYVID_CHECK(model.accepts_last_image, Unsupported,
                 "--last-image: this model ({}) cannot end on a given frame; first+last frame "
                 "needs a Wan2.1 FLF2V, Wan2.1 VACE or Wan2.2 I2V-A14B model",
                 model.variant);
    RAYVID_CHECK(request.image.has_value() || model.vace, BadArgument,
                 "--last-image needs --image too (the first frame)");
    require_input_file(*request.last_image, "--last-image");
    io::read_image(*request.last_image);
    plan.last_image = *request.last_image;
  } else {
    RAYVID_CHECK(!model.requires_last_image || !request.image, BadArgument,
                 "this model ({}) is first-and-last-frame (FLF2V): pass --last-image PATH with "
                 "--image",
                 model.variant);
  }

  plan.shape =
      pipeline::resolve_preset(model.presets, request.size, request.resolution, request.duration);
  // An override that is given is used or refused, never swapped for a default.
  auto override_of = [](const std::optional<int>& value, const char* flag, int& target) {
    if (!value) return;
    RAYVID_CHECK(*value > 0, BadArgument,
                 "{} {} must be a positive integer (omit it for the "
                 "preset's value)",
                 flag, *value);
    target = *value;
  };
  override_of(request.width, "--width", plan.shape.width);
  override_of(request.height, "--height", plan.shape.height);
  override_of(request.frames, "--frames", plan.shape.frames);
  override_of(request.fps, "--fps", plan.shape.fps);
  pipeline::validate_shape(model.presets, plan.shape);

  const pipeline::SamplingRecipe* recipe = nullptr;
  if (!request.recipe.empty()) {
    recipe = pipeline::find_recipe(request.recipe);
    RAYVID_CHECK(recipe != nullptr, BadArgument, "--recipe '{}' is unknown; use {}", request.recipe,
                 fmt::join(pipeline::recipe_names(), ", "));
  }
  plan.steps = request.steps.value_or(recipe ? recipe->steps : model.default_steps);
  RAYVID_CHECK(plan.steps >= 1 && plan.steps <= 1000, BadArgument,
               "--steps {} must be within 1..1000", plan.steps);
  // Guidance beyond ~100 overflows the extrapolation into infinities (a black video); real use
  // is 1..20. <= 1 disables guidance, as in diffusers.
  auto guidance_of = [](double value, const char* flag) {
    RAYVID_CHECK(std::isfinite(value) && value >= 0 && value <= kMaxGuidance, BadArgument,
                 "{} {} must be a number within 0..{} (<= 1 disables guidance; Wan uses 3-6)", flag,
                 value, kMaxGuidance);
    return value;
  };
  plan.guidance_scale = request.guidance_scale
                            ? guidance_of(*request.guidance_scale, "--guidance-scale")
                            : model.default_guidance;
  plan.guidance_scale_2 =
      request.guidance_scale_2
          ? guidance_of(*request.guidance_scale_2, "--guidance-scale-2")
          : (request.guidance_scale ? plan.guidance_scale : model.default_guidance_2);
  plan.guided = plan.guidance_scale > 1;
  if (request.shift) {
    RAYVID_CHECK(std::isfinite(*request.shift) && *request.shift > 0 &&
                     *request.shift <= sampling::kMaxShift,
                 BadArgument,
                 "--shift {} must be a number within 0 < shift <= {} (Wan uses 3-12; omit it for "
                 "the scheduler config's {})",
                 *request.shift, sampling::kMaxShift, model.scheduler.shift);
  }
  plan.shift = request.shift.value_or(model.scheduler.shift);
  plan.sampler = request.sampler.empty() ? std::string("unipc") : request.sampler;
  bool known_sampler = false;
  for (const auto& s : sampling::sampler_names()) known_sampler |= s == plan.sampler;
  RAYVID_CHECK(known_sampler, BadArgument, "--sampler '{}' is unknown; use unipc, euler or dpm++",
               plan.sampler);
  if (recipe) apply_recipe(*recipe, request, plan);
  if (model.vace) plan_vace_inputs(request, plan);
  plan_step_cache(model, request, plan);
  plan.guided_steps = plan.guided ? plan.steps : 0;
  if (request.guidance_until) {
    const double f = *request.guidance_until;
    RAYVID_CHECK(std::isfinite(f) && f > 0 && f <= 1, BadArgument,
                 "--guidance-until {} must be a fraction of the steps within 0 < f <= 1", f);
    RAYVID_CHECK(plan.guided, BadArgument,
                 "--guidance-until needs guidance (a --guidance-scale above 1); this run has none");
    RAYVID_CHECK(!plan.step_cache, BadArgument,
                 "--guidance-until and --cache cannot be combined yet; use one of them");
    plan.guided_steps = static_cast<int>(std::ceil(f * plan.steps - 1e-9));
  }

  plan.output =
      request.output.empty() ? fs::path(default_output_name(request)) : fs::path(request.output);
  RAYVID_CHECK(plan.output.extension() == ".mp4", BadArgument, "--output {} must end in .mp4",
               plan.output.string());
  const fs::path folder =
      plan.output.parent_path().empty() ? fs::path(".") : plan.output.parent_path();
  RAYVID_CHECK(fs::is_directory(folder), BadArgument,
               "--output folder {} does not exist; create it first", folder.string());

  const int64_t dtype_bytes = static_cast<int64_t>(c10::elementSize(load.dtype));
  const bool fp8 = load.weight_storage == models::wan_dit::WeightStorage::kFp8;
  const double available = static_cast<double>(free_memory_bytes(load.device));
  auto needed_for = [&](MemoryProfile p) {
    plan.memory_profile = p;
    plan.estimated_peak_bytes =
        estimate_peak_bytes(model, plan.shape, dtype_bytes, plan.guided, fp8, p);
    return plan.estimated_peak_bytes -
           (weights_loaded ? estimate_weight_bytes(model, dtype_bytes, fp8, p) : 0.0);
  };
  double needed = needed_for(profile.value_or(MemoryProfile::kMax));
  // auto: on a GPU the first profile that fits; on the CPU host and device are one memory, and
  // moving weights around in it saves nothing.
  if (!profile && load.device.is_cuda()) {
    for (const MemoryProfile p : {MemoryProfile::kBalanced, MemoryProfile::kLow})
      if (available > 0 && needed >= available) needed = needed_for(p);
  }
  RAYVID_CHECK(available == 0 || needed < available, OutOfMemory,
               "{}x{}x{} frames needs about {:.1f} GiB{} but {:.1f} GiB of {} memory is free; "
               "choose a lower --resolution, a shorter --duration, --memory low or --dtype "
               "bf16",
               plan.shape.width, plan.shape.height, plan.shape.frames, needed / (1 << 30),
               weights_loaded ? " besides the loaded weights" : "", available / (1 << 30),
               load.device.is_cuda() ? "GPU" : "CPU");
  if (load.device.is_cuda()) {
    // Host memory is where GPU runs usually fail: the streamed blocks (low), the runtime and the
    // video. On the CPU the check above is the host check.
    const double host = estimate_request_memory(model, plan.shape, dtype_bytes, plan.guided, fp8,
                                                plan.memory_profile, true)
                            .host_peak;
    check_host_memory(host, static_cast<double>(available_ram_bytes()),
                      memory_profile_name(plan.memory_profile));
  }
  return plan;
}

void check_host_memory(double needed, double available, const std::string& profile) {
  RAYVID_CHECK(available == 0 || needed < available, OutOfMemory,
               "--memory {} needs about {:.1f} GiB of host memory (the streamed blocks, the "
               "runtime and the video) but {:.1f} GiB is available; close other programs, use "
               "--weights fp8 (half the streamed bytes), or --memory balanced if the GPU can "
               "hold the DiT",
               profile, needed / (1 << 30), available / (1 << 30));
}

}  // namespace engine
}  // namespace rayvid
