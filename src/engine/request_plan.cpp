// Model and request planning: defaults, validation, output naming and the memory estimate.
#include "engine/request_plan.h"

#include <ATen/ATen.h>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cctype>
#include <ctime>

#include "core/check.h"
#include "core/memory.h"
#include "io/image.h"
#include "io/safetensors.h"

namespace rayvid::engine {
namespace fs = std::filesystem;

ModelPlan describe_model(const models::ModelFolder& folder) {
  ModelPlan p;
  const auto guess = models::detect_variant(folder);
  p.variant = guess.name;
  p.family = guess.family;
  p.pipeline_class = folder.pipeline_class();
  RAYVID_CHECK(p.pipeline_class == "WanPipeline" || p.pipeline_class == "WanImageToVideoPipeline",
               Unsupported,
               "{}: pipeline {} is not supported; rayvid runs WanPipeline and "
               "WanImageToVideoPipeline folders",
               folder.path().string(), p.pipeline_class);
  const auto& index = folder.index();
  p.expand_timesteps = index.get_or<bool>("expand_timesteps", false);
  p.boundary_ratio = index.get_or<double>("boundary_ratio", 0.0);
  p.has_image_encoder = folder.find("image_encoder") != nullptr;
  p.two_experts = folder.find("transformer_2") != nullptr;
  RAYVID_CHECK(!p.two_experts || p.boundary_ratio > 0, BadInput,
               "{}: two transformers but no boundary_ratio in model_index.json",
               folder.path().string());
  const bool i2v = p.pipeline_class == "WanImageToVideoPipeline";
  p.accepts_image = i2v || p.expand_timesteps;  // TI2V folders do both
  p.requires_image = i2v;
  p.presets = p.expand_timesteps ? pipeline::preset_family_ti2v() : pipeline::preset_family_wan21();

  const auto dit = folder.component_config("transformer");
  p.dit_dim =
      dit.require<int64_t>("num_attention_heads") * dit.require<int64_t>("attention_head_dim");
  p.dit_ffn = dit.require<int64_t>("ffn_dim");
  p.dit_layers = dit.require<int64_t>("num_layers");
  const auto vae = folder.component_config("vae");
  p.vae_decoder_channels =
      vae.get_or<int64_t>("decoder_base_dim", vae.get_or<int64_t>("base_dim", 96));
  const int64_t vae_stride =
      vae.get_or<int64_t>("scale_factor_spatial", p.expand_timesteps ? 16 : 8);
  const auto patch = dit.get_or<std::vector<int64_t>>("patch_size", {1, 2, 2});
  p.presets.spatial_multiple = static_cast<int>(vae_stride * patch.at(1));
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
  for (const auto& c : folder.components()) {
    if (!fs::is_directory(c.dir)) continue;
    for (const auto& item : fs::directory_iterator(c.dir))
      if (item.path().extension() == ".safetensors") p.weight_bytes += fs::file_size(item.path());
  }
  return p;
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

double estimate_weight_bytes(const ModelPlan& model, int64_t dtype_bytes) {
  // Weights are stored fp32 or bf16; count them in the compute dtype (fp32 storage is 4 bytes).
  return static_cast<double>(model.weight_bytes) * dtype_bytes / 4.0 +
         static_cast<double>(model.weight_bytes) * 0.05;
}

double estimate_peak_bytes(const ModelPlan& model, const pipeline::VideoShape& shape,
                           int64_t dtype_bytes, bool guided) {
  const int stride = model.presets.spatial_multiple;  // VAE stride x patch
  const double T = (shape.frames - 1) / 4 + 1;
  const double tokens = T * (shape.height / stride) * (shape.width / stride);
  const double batch = guided ? 2 : 1;
  const double weights = estimate_weight_bytes(model, dtype_bytes);
  // DiT: residual stream, q/k/v/out and the FFN hidden state for one block at a time.
  const double dit = batch * tokens * (8.0 * model.dit_dim + 2.0 * model.dit_ffn) * dtype_bytes;
  // VAE decode, one latent frame at a time: ~4 output frames x the widest decoder stage x ~6 live
  // buffers in fp32, over at most a 512x512 area: beyond that the VAE tiles itself (kAuto).
  const double area = std::min(static_cast<double>(shape.height) * shape.width, 512.0 * 512.0);
  const double vae = 4.0 * area * static_cast<double>(model.vae_decoder_channels) * 6 * 4;
  // The decoded video itself in fp32 (twice while tiling assembles it) and as 8-bit frames.
  const double video = shape.frames * static_cast<double>(shape.height) * shape.width * 3 * 9;
  return weights + std::max(dit, vae) + video;
}

RequestPlan plan_request(const ModelPlan& model, const GenerateRequest& request,
                         const LoadOptions& load, bool weights_loaded) {
  RequestPlan plan;
  RAYVID_CHECK(!request.prompt.empty(), BadArgument, "--prompt is required and must not be empty");
  if (request.image) {
    RAYVID_CHECK(model.accepts_image, Unsupported,
                 "this model ({}) is text-to-video only; drop --image or use an image-to-video "
                 "model (Wan2.1 I2V, Wan2.2 TI2V-5B or I2V-A14B)",
                 model.variant);
    RAYVID_CHECK(fs::is_regular_file(*request.image), BadInput, "--image {}: file not found",
                 *request.image);
    io::read_image(*request.image);  // decoding is cheap: an unreadable image fails before loading
    plan.image = *request.image;
  } else {
    RAYVID_CHECK(!model.requires_image, BadArgument,
                 "this model ({}) is image-to-video: pass --image PATH", model.variant);
  }
  for (const auto& ref : request.reference_images)
    RAYVID_CHECK(fs::is_regular_file(ref), BadInput, "--reference {}: file not found", ref);

  plan.shape =
      pipeline::resolve_preset(model.presets, request.size, request.resolution, request.duration);
  if (request.width > 0) plan.shape.width = request.width;
  if (request.height > 0) plan.shape.height = request.height;
  if (request.frames > 0) plan.shape.frames = request.frames;
  if (request.fps > 0) plan.shape.fps = request.fps;
  RAYVID_CHECK(request.width >= 0 && request.height >= 0 && request.frames >= 0 && request.fps >= 0,
               BadArgument, "--width/--height/--frames/--fps must be positive");
  pipeline::validate_shape(model.presets, plan.shape);

  plan.steps = request.steps > 0 ? request.steps : model.default_steps;
  RAYVID_CHECK(request.steps >= 0 && plan.steps <= 1000, BadArgument,
               "--steps {} must be within 1..1000", request.steps);
  plan.guidance_scale =
      request.guidance_scale >= 0 ? request.guidance_scale : model.default_guidance;
  plan.guidance_scale_2 =
      request.guidance_scale_2 >= 0
          ? request.guidance_scale_2
          : (request.guidance_scale >= 0 ? plan.guidance_scale : model.default_guidance_2);
  plan.guided = plan.guidance_scale > 1;
  RAYVID_CHECK(request.shift >= 0, BadArgument, "--shift {} must be positive", request.shift);
  bool known_sampler = false;
  for (const auto& s : sampling::sampler_names()) known_sampler |= s == request.sampler;
  RAYVID_CHECK(known_sampler, BadArgument, "--sampler '{}' is unknown; use unipc, euler or dpm++",
               request.sampler);

  plan.output =
      request.output.empty() ? fs::path(default_output_name(request)) : fs::path(request.output);
  RAYVID_CHECK(plan.output.extension() == ".mp4", BadArgument, "--output {} must end in .mp4",
               plan.output.string());
  const fs::path folder =
      plan.output.parent_path().empty() ? fs::path(".") : plan.output.parent_path();
  RAYVID_CHECK(fs::is_directory(folder), BadArgument,
               "--output folder {} does not exist; create it first", folder.string());

  const int64_t dtype_bytes = static_cast<int64_t>(c10::elementSize(load.dtype));
  plan.estimated_peak_bytes = estimate_peak_bytes(model, plan.shape, dtype_bytes, plan.guided);
  const double needed = plan.estimated_peak_bytes -
                        (weights_loaded ? estimate_weight_bytes(model, dtype_bytes) : 0.0);
  const double available = static_cast<double>(free_memory_bytes(load.device));
  RAYVID_CHECK(available == 0 || needed < available, OutOfMemory,
               "{}x{}x{} frames needs about {:.1f} GiB{} but {:.1f} GiB of {} memory is free; "
               "choose a lower --resolution, a shorter --duration, or --dtype bf16",
               plan.shape.width, plan.shape.height, plan.shape.frames, needed / (1 << 30),
               weights_loaded ? " besides the loaded weights" : "", available / (1 << 30),
               load.device.is_cuda() ? "GPU" : "CPU");
  return plan;
}

}  // namespace rayvid::engine
