// One generation on the compute device, from prompts (and a source image) to the decoded video:
// text encoding, image conditioning, the seeded initial noise, the denoising loop and the decode.
// Everything this creates (noise, masks, zero frames, normalised latents) is made on or moved to
// `device` here, so no CPU tensor meets a device tensor; the engine around it plans, loads the
// components, and turns the video into an MP4. (The placement tests run it on the meta device,
// where any CPU/device mix throws.)
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <functional>
#include <optional>
#include <string>

#include "io/image.h"
#include "pipeline/components.h"
#include "pipeline/denoise.h"
#include "pipeline/presets.h"
#include "pipeline/step_cache.h"
#include "pipeline/vace_condition.h"
#include "sampling/scheduler.h"

namespace rayvid::pipeline {

struct PipelineComponents {
  TextEncoder* text = nullptr;
  ImageEncoder* image = nullptr;  // Wan2.1 I2V (CLIP tokens); null otherwise
  Denoiser* high_noise = nullptr;
  Denoiser* low_noise = nullptr;  // two-expert models
  VideoAutoencoder* vae = nullptr;
};

struct GenerationSpec {
  std::string prompt;
  std::string negative_prompt;
  std::optional<io::Image> source;  // image-to-video: already resized to shape.width x height
  std::optional<io::Image> last;    // the last frame (FLF2V, A14B I2V): resized like source
  std::optional<VaceInputs> vace;   // Wan2.1 VACE: references, keyframes, a control video
  VideoShape shape;
  uint64_t seed = 0;
  double guidance_scale = 1;      // > 1: batch-2 guidance with the negative prompt
  double guidance_scale_2 = 1;    // the low-noise expert's
  bool expand_timesteps = false;  // Wan2.2 TI2V: first-frame replacement, per-token timesteps
  int max_sequence_length = 512;
  double boundary_timestep = -1;  // two experts: where the low-noise expert takes over
  std::vector<double> sigmas;     // a given (unshifted) schedule, e.g. a recipe's; empty = `steps`
  std::optional<StepCacheSettings> step_cache;  // TeaCache / MagCache (one-expert models)
  int guided_steps = -1;  // with guidance: the steps that use it, from the start (-1: all)
  c10::Device device = c10::Device(c10::kCPU);
};

struct GenerationHooks {
  // A stage begins: "text_encode", "image_encode", "denoise", "vae_decode".
  std::function<void(const std::string& stage)> on_stage;
  StepCallback on_step;
  // The initial noise, the image condition and the decoded video, for --dump-latents.
  std::function<void(const std::string& name, const at::Tensor& tensor)> on_tensor;
  // With a step cache: after denoising, which steps ran the blocks (true) or reused (false).
  std::function<void(const std::vector<bool>& decisions)> on_step_cache;
};

// The seeded initial latents [1, z, T, h, w] fp32 on `device`: drawn by ATen's CPU generator
// exactly as torch.Generator("cpu").manual_seed(seed) then torch.randn would, then moved.
at::Tensor initial_noise(uint64_t seed, int64_t z, int64_t frames, int64_t height, int64_t width,
                         c10::Device device);

// Runs the whole pipeline; returns the video [1, 3, F, H, W] in [-1, 1] on `spec.device`. The
// scheduler is used as given (its shift chosen by the caller); set_timesteps(steps) is done here.
at::Tensor generate_video(const PipelineComponents& components, const GenerationSpec& spec,
                          sampling::Scheduler& scheduler, int steps,
                          const GenerationHooks& hooks = {});

}  // namespace rayvid::pipeline
