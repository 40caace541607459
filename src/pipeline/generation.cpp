// The generation pipeline on the compute device: see generation.h. Mirrors diffusers' WanPipeline,
// WanImageToVideoPipeline and the TI2V path of WanPipeline (expand_timesteps).
#include "pipeline/generation.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "core/check.h"
#include "pipeline/pixels.h"
#include "pipeline/vace_condition.h"

namespace rayvid::pipeline {
namespace {

struct ImageCondition {
  Conditioning kind = Conditioning::kNone;
  at::Tensor condition;              // see DenoiseSetup::condition
  std::optional<at::Tensor> tokens;  // CLIP tokens [1, 257, 1280] (Wan2.1 I2V); FLF2V: [2, ...]
};

ImageCondition condition_on_image(const PipelineComponents& c, const GenerationSpec& spec,
                                  int64_t latent_frames, int64_t h, int64_t w) {
  const io::Image& source = *spec.source;
  const auto& shape = spec.shape;
  ImageCondition result;
  if (c.image) {
    at::Tensor tokens = c.image->encode(source);  // [1, 257, 1280]
    // FLF2V: first and last image as a batch of two; the DiT's embedder joins them into one
    // sequence of 514 and adds its positions (diffusers' encode_image([image, last_image])).
    if (spec.last) tokens = at::cat({tokens, c.image->encode(*spec.last)}, 0);
    result.tokens = tokens;
  }
  const at::Tensor pixels = image_to_tensor(source, spec.device).unsqueeze(2);  // [1, 3, 1, H, W]
  at::Tensor video = pixels;
  if (!spec.expand_timesteps) {  // first frame + zero frames (+ last frame), really encoded
    const int64_t blank = shape.frames - 1 - (spec.last ? 1 : 0);
    std::vector<at::Tensor> parts{
        pixels, at::zeros({1, 3, blank, shape.height, shape.width}, pixels.options())};
    if (spec.last) parts.push_back(image_to_tensor(*spec.last, spec.device).unsqueeze(2));
    video = at::cat(parts, 2);
  }
  const at::Tensor latent = c.vae->normalize(c.vae->encode(video));  // fp32 on the device
  if (spec.expand_timesteps) {
    result.kind = Conditioning::kFirstFrame;
    result.condition = latent;  // [1, z, 1, h, w]
  } else {
    result.kind = Conditioning::kConcat;
    at::Tensor mask = at::zeros({1, 4, latent_frames, h, w}, latent.options());
    mask.select(2, 0).fill_(1.0);  // latent frame 0 = the given pixel frame
    // The last latent frame packs pixel frames F-4..F-1 in its 4 mask channels: the last pixel
    // frame is channel 3 (diffusers' mask_lat_size with last_image).
    if (spec.last) mask.select(2, latent_frames - 1).select(1, 3).fill_(1.0);
    result.condition = at::cat({mask, latent}, 1);  // [1, 4 + z, T, h, w]
  }
  return result;
}

}  // namespace

at::Tensor initial_noise(uint64_t seed, int64_t z, int64_t frames, int64_t height, int64_t width,
                         c10::Device device) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn({1, z, frames, height, width}, generator, at::kFloat).to(device);
}

at::Tensor generate_video(const PipelineComponents& c, const GenerationSpec& spec,
                          sampling::Scheduler& scheduler, int steps, const GenerationHooks& hooks) {
  RAYVID_CHECK(c.text && c.high_noise && c.vae, Internal, "generate_video: missing components");
  auto stage = [&](const char* name) {
    if (hooks.on_stage) hooks.on_stage(name);
  };
  auto keep = [&](const char* name, const at::Tensor& t) {
    if (hooks.on_tensor) hooks.on_tensor(name, t);
  };
  const bool guided = spec.guidance_scale > 1;

  // 1. Text: [prompt; negative] in one batch when guided.
  stage("text_encode");
  std::vector<std::string> prompts{spec.prompt};
  if (guided) prompts.push_back(spec.negative_prompt);
  const at::Tensor text =
      c.text->encode(prompts, spec.max_sequence_length).to(spec.device);  // [B, 512, D]

  // 2. Image: CLIP tokens (Wan2.1 I2V) and the VAE conditioning latents.
  const int64_t z = c.vae->z_dim();
  const int64_t T = (spec.shape.frames - 1) / c.vae->temporal_stride() + 1;
  const int64_t h = spec.shape.height / c.vae->spatial_stride();
  const int64_t w = spec.shape.width / c.vae->spatial_stride();
  ImageCondition image;
  std::optional<VaceCondition> vace;
  if (spec.vace) {  // VACE: the keyframes, references and control video as control states
    stage("image_encode");
    vace = vace_condition(*c.vae, *spec.vace, spec.shape, spec.device);
    keep("vace_control", vace->control);
  } else if (spec.source) {
    stage("image_encode");
    image = condition_on_image(c, spec, T, h, w);
  }
  const int64_t reference_frames = vace ? vace->reference_frames : 0;

  // 3. Noise (VACE: with the reference images' frames in front), then 4. denoise.
  const at::Tensor noise = initial_noise(spec.seed, z, reference_frames + T, h, w, spec.device);
  keep("noise", noise);
  if (image.condition.defined()) keep("condition", image.condition);
  std::optional<at::Tensor> image_context;
  if (image.tokens) {
    const at::Tensor tokens = image.tokens->to(spec.device);
    image_context = guided ? at::cat({tokens, tokens}) : tokens;
  }
  c.high_noise->set_context(text, image_context);
  if (c.low_noise) c.low_noise->set_context(text, image_context);
  if (vace) {
    c.high_noise->set_control(vace->control, spec.vace->scale);
    if (c.low_noise) c.low_noise->set_control(vace->control, spec.vace->scale);
  }

  DenoiseSetup setup;
  setup.noise = noise;
  setup.conditioning = image.kind;
  setup.condition = image.condition;
  setup.high_noise = c.high_noise;
  setup.low_noise = c.low_noise;
  setup.boundary_timestep = spec.boundary_timestep;
  setup.guidance_scale = spec.guidance_scale;
  setup.guidance_scale_2 = spec.guidance_scale_2;
  setup.guided_steps = spec.guided_steps;
  if (spec.sigmas.empty()) {
    scheduler.set_timesteps(steps);
  } else {
    scheduler.set_sigmas(spec.sigmas);
  }
  std::optional<StepCache> cache;
  if (spec.step_cache) {
    cache.emplace(*spec.step_cache, static_cast<int>(scheduler.timesteps().size()));
    setup.step_cache = &*cache;
  }
  stage("denoise");
  const at::Tensor latents = denoise(setup, scheduler, hooks.on_step);
  if (cache && hooks.on_step_cache) hooks.on_step_cache(cache->decisions());

  // 5. Decode the un-normalised latents.
  stage("vae_decode");
  const at::Tensor generated = latents.narrow(2, reference_frames, T);    // without the references
  const at::Tensor video = c.vae->decode(c.vae->denormalize(generated));  // [1, 3, F, H, W]
  keep("video", video);
  return video;
}

}  // namespace rayvid::pipeline
