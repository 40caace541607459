// `rayvid generate`: flags that read like a hosted Ray API's parameters, mapped onto the engine.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>

#include "apps/commands.h"
#include "apps/keyframe_flag.h"
#include "apps/progress_printer.h"
#include "core/check.h"
#include "rayvid/rayvid.h"

namespace rayvid::apps {
namespace {

struct GenerateFlags {
  GenerateRequest request;
  EngineOptions engine;
  std::string image, last_image;
  std::vector<std::string> keyframes;
  double control_scale = 1;
  std::string progress = "text";
  std::string seed = "0";
  std::vector<std::string> loras, loras_2;
  bool quiet = false;
  // Optional numbers: parsed here, copied into the request only when given, so the engine can
  // tell "not given" (the model's default) from a given 0 or NaN (refused).
  int width = 0, height = 0, frames = 0, fps = 0, steps = 0;
  double guidance_scale = 0, guidance_scale_2 = 0, shift = 0;
  double cache_threshold = 0, cache_retention = 0, guidance_until = 0;
  int cache_max_skip = 0;
};

template <typename T>
void copy_if_given(const CLI::Option* option, T value, std::optional<T>& target) {
  if (option->count() > 0) target = value;
}

std::string default_model_dir() {
  if (const char* env = std::getenv("RAYVID_MODEL"); env != nullptr && *env != '\0') return env;
  return RAYVID_DEFAULT_MODEL;  // the bundled tiny demo model, set by CMake
}

}  // namespace

void add_generate(CLI::App& app) {
  auto* sub = app.add_subcommand("generate", "Generate a video from a prompt (and an image)");
  auto flags = std::make_shared<GenerateFlags>();
  auto& r = flags->request;
  sub->add_option("--prompt,-p", r.prompt, "What the video shows (required)")->required();
  sub->add_option("--image,-i", flags->image,
                  "Source image for image-to-video (resized to cover the size, centre-cropped)");
  sub->add_option("--last-image", flags->last_image,
                  "The last frame, with --image as the first (Wan2.1 FLF2V, Wan2.2 I2V-A14B)");
  sub->add_option("--reference", r.reference_images,
                  "Reference image for subject or style (repeatable; Wan2.1 VACE): fitted into "
                  "the frame on white, as diffusers");
  sub->add_option("--keyframe", flags->keyframes,
                  "N:IMAGE: pixel frame N is this image (repeatable; Wan2.1 VACE). --image and "
                  "--last-image are frames 0 and the last");
  sub->add_option("--control-video", r.control_video,
                  "An MP4 whose first frames the video follows (video-to-video; Wan2.1 VACE)");
  const auto* control_scale = sub->add_option(
      "--control-scale", flags->control_scale,
      "How strongly VACE's conditioning steers (diffusers' conditioning_scale, default 1)");
  sub->add_option("--negative-prompt,-n", r.negative_prompt,
                  "What to avoid (default: empty, as diffusers)");
  sub->add_option("--size", r.size, "Aspect preset: 16:9, 9:16, 1:1, 4:3, 3:4, 21:9")
      ->capture_default_str();
  sub->add_option("--resolution", r.resolution, "540p, 720p or 1080p (short side)")
      ->capture_default_str();
  sub->add_option(
         "--duration", r.duration,
         "5s or 10s. 10 s is beyond what Wan models were trained on: it is generated in one "
         "pass and may loop or degrade")
      ->capture_default_str();
  auto* width =
      sub->add_option("--width", flags->width, "Override the preset width (multiple of 16 or 32)");
  auto* height = sub->add_option("--height", flags->height, "Override the preset height");
  auto* frames = sub->add_option("--frames", flags->frames, "Override the frame count (4n+1)");
  auto* fps = sub->add_option("--fps", flags->fps, "Override the frame rate");
  sub->add_option("--seed", flags->seed,
                  "Random seed, -2^63..2^64-1 as torch.manual_seed (same seed, same noise as "
                  "diffusers)")
      ->capture_default_str();
  auto* steps = sub->add_option("--steps", flags->steps, "Denoising steps (default: the model's)");
  sub->add_option("--sampler", r.sampler, "unipc (default), euler or dpm++");
  sub->add_option("--recipe", r.recipe,
                  "distill-4step: the step-distill LoRAs' recipe (4 Euler steps at t = 1000, 750, "
                  "500, 250 on the shift-5 schedule, no guidance; A14B: 2 steps per expert). Use "
                  "with a step-distill --lora (lightx2v, Lightning)");
  auto* guidance = sub->add_option("--guidance-scale,-g", flags->guidance_scale,
                                   "Classifier-free guidance, 0..100 (<= 1 disables)");
  auto* guidance_2 = sub->add_option("--guidance-scale-2", flags->guidance_scale_2,
                                     "Guidance of the low-noise expert (A14B)");
  auto* shift =
      sub->add_option("--shift", flags->shift, "Timestep shift (default: the scheduler config's)");
  sub->add_option("--model,-m", flags->engine.model_dir,
                  "A diffusers-layout Wan folder (default: bundled demo), or a single-file Wan DiT "
                  "(.safetensors: original or diffusers names, fp32/fp16/bf16/fp8, ComfyUI "
                  "fp8_scaled) with --vae, --text-encoder and --tokenizer");
  sub->add_option("--model-2", flags->engine.model_2,
                  "Wan2.2 A14B's low-noise expert: a DiT file or a transformer_2 folder");
  sub->add_option(
      "--text-encoder", flags->engine.text_encoder,
      "The umT5 text_encoder folder, or a single umT5 file (ComfyUI's umt5_xxl: fp16, bf16, "
      "fp8_scaled; its embedded tokenizer is used when --tokenizer is not given); "
      "replaces the model's, needed with a DiT file");
  sub->add_option("--tokenizer", flags->engine.tokenizer,
                  "The tokenizer folder (replaces the model's; needed with a DiT file)");
  sub->add_option(
      "--vae", flags->engine.vae,
      "The VAE folder, or a Wan VAE file (original layout, as ComfyUI's wan_2.1_vae and "
      "wan2.2_vae); "
      "replaces the model's, needed with a DiT file");
  sub->add_option("--image-encoder", flags->engine.image_encoder,
                  "The CLIP image_encoder folder, with image_processor/ beside it (Wan2.1 I2V and "
                  "FLF2V DiT files)");
  sub->add_option("--output,-o", r.output,
                  "Output MP4 (default: rayvid-<time>-seed<seed>-<prompt>.mp4)");
  sub->add_option("--device", flags->engine.device, "auto, cpu or cuda")->capture_default_str();
  sub->add_option("--dtype", flags->engine.dtype,
                  "fp32, bf16 or fp16 (default: bf16 on CUDA, fp32 on CPU)");
  sub->add_option("--weights", flags->engine.weights,
                  "The DiT blocks' Linear weights: fp8 (kept in float8 with a scale and upcast per "
                  "layer: half of bf16's memory; other checkpoints are quantized at load), compute "
                  "(the --dtype) or auto (fp8 when the checkpoint is fp8)")
      ->capture_default_str();
  sub->add_option("--memory", flags->engine.memory,
                  "What stays on the device: max (everything), balanced (the DiT; encoders and "
                  "VAE load when used), low (balanced, and the DiT's blocks stream from host "
                  "memory; A14B's experts take turns) or auto (the first that fits)")
      ->capture_default_str();
  sub->add_option("--kernels", flags->engine.kernels,
                  "The DiT's ops: auto (rayvid on CUDA, aten elsewhere), rayvid (rayvid's CUDA "
                  "kernels), aten (LibTorch), emu (the kernels' source on the CPU emulator: slow, "
                  "for tests) or reference")
      ->capture_default_str();
  sub->add_option("--lora", flags->loras,
                  "LoRA FILE[:STRENGTH] merged into the transformer (A14B: the high-noise expert); "
                  "repeatable. Formats: diffusers/PEFT, original Wan (lora_down/up, alpha, "
                  "diff, diff_b, diff_m), kohya/musubi, LyCORIS, rs-LoRA");
  sub->add_option("--lora-2", flags->loras_2,
                  "LoRA FILE[:STRENGTH] merged into A14B's low-noise expert (transformer_2); "
                  "repeatable");
  sub->add_flag("--lora-allow-unmatched", flags->engine.lora_allow_unmatched,
                "Load a LoRA even if some of its keys match nothing in the model (they are "
                "listed in the log and the sidecar)");
  const auto* guidance_until = sub->add_option(
      "--guidance-until", flags->guidance_until,
      "Use guidance on the first fraction of the steps only (e.g. 0.5), the conditional branch "
      "alone after: one DiT forward per step instead of two there");
  sub->add_option(
      "--cache", r.cache,
      "Step caching: teacache, magcache or fbcache (reuse the DiT blocks' residual on steps "
      "where the model's output barely changes); needs --cache-threshold");
  const auto* cache_threshold = sub->add_option(
      "--cache-threshold", flags->cache_threshold,
      "TeaCache: 0.05-0.08 (1.3B), 0.14-0.3 (14B); MagCache: 0.06-0.24; FirstBlockCache: "
      "0.05-0.2. Higher: faster, "
      "further from the uncached video");
  sub->add_option("--cache-table", r.cache_table,
                  "The published coefficients/ratios to use: t2v-1.3b, t2v-14b, i2v-480p or "
                  "i2v-720p (default: the model's own)");
  sub->add_flag("--teacache-e0", r.teacache_e0,
                "TeaCache watches the projected timestep embedding (its use_ret_steps mode: first "
                "5 steps always run)");
  const auto* cache_max_skip = sub->add_option("--cache-max-skip", flags->cache_max_skip,
                                               "MagCache: most steps skipped in a row (default 3)");
  const auto* cache_retention =
      sub->add_option("--cache-retention", flags->cache_retention,
                      "MagCache: fraction of the first steps that always run (default 0.2)");
  sub->add_option("--progress", flags->progress, "text or json (on stderr)")->capture_default_str();
  sub->add_flag("--quiet,-q", flags->quiet, "No progress output");
  sub->add_flag("--analyze", r.analyze,
                "Run `rayvid analyze` on the result and add its summary to the JSON sidecar");
  sub->add_flag("--dry-run", r.dry_run,
                "Validate and print the resolved plan as JSON (size, frames, fps, steps, memory)");
  sub->add_option("--dump-latents", r.dump_latents_dir,
                  "Write every step's latent and prediction as safetensors into this folder");
  sub->callback([=]() {
    auto& request = flags->request;
    copy_if_given(width, flags->width, request.width);
    copy_if_given(height, flags->height, request.height);
    copy_if_given(frames, flags->frames, request.frames);
    copy_if_given(fps, flags->fps, request.fps);
    copy_if_given(steps, flags->steps, request.steps);
    copy_if_given(guidance, flags->guidance_scale, request.guidance_scale);
    copy_if_given(guidance_2, flags->guidance_scale_2, request.guidance_scale_2);
    copy_if_given(shift, flags->shift, request.shift);
    copy_if_given(cache_threshold, flags->cache_threshold, request.cache_threshold);
    copy_if_given(guidance_until, flags->guidance_until, request.guidance_until);
    copy_if_given(cache_max_skip, flags->cache_max_skip, request.cache_max_skip);
    copy_if_given(cache_retention, flags->cache_retention, request.cache_retention);
    request.seed = parse_seed(flags->seed);
    if (!flags->image.empty()) request.image = flags->image;
    if (!flags->last_image.empty()) request.last_image = flags->last_image;
    copy_if_given(control_scale, flags->control_scale, request.control_scale);
    for (const auto& k : flags->keyframes) {
      const auto [index, path] = parse_keyframe_flag(k);
      RAYVID_CHECK(!request.keyframes.count(index), BadArgument,
                   "--keyframe: frame {} is given twice", index);
      request.keyframes[index] = path;
    }
    if (flags->engine.model_dir.empty()) flags->engine.model_dir = default_model_dir();
    for (const auto& l : flags->loras) flags->engine.loras.push_back(parse_lora_option(l));
    for (const auto& l : flags->loras_2) flags->engine.loras_2.push_back(parse_lora_option(l));
    const auto printer = make_progress_printer(parse_progress_mode(flags->progress, flags->quiet));
    auto engine = Engine::open(flags->engine);
    const GenerateResult result = engine->generate(request, printer);
    if (request.dry_run) {
      const nlohmann::json plan = {{"variant", result.variant},
                                   {"width", result.width},
                                   {"height", result.height},
                                   {"frames", result.frames},
                                   {"fps", result.fps},
                                   {"steps", result.steps},
                                   {"sampler", result.sampler},
                                   {"recipe", result.recipe},
                                   {"guided_steps", result.guided_steps},
                                   {"cache", result.cache},
                                   {"cache_table", result.cache_table},
                                   {"cache_steps", result.cache_steps},
                                   {"guidance_scale", result.guidance_scale},
                                   {"guidance_scale_2", result.guidance_scale_2},
                                   {"output", result.video_path},
                                   {"estimated_peak_bytes", result.estimated_peak_bytes}};
      std::printf("%s\n", plan.dump().c_str());
      return;
    }
    std::printf("%s\n", result.video_path.c_str());
    if (!flags->quiet && flags->progress == "json") {
      const nlohmann::json done = {{"stage", "done"},
                                   {"video", result.video_path},
                                   {"sidecar", result.sidecar_path},
                                   {"total_seconds", result.timings.total}};
      std::fprintf(stderr, "%s\n", done.dump().c_str());
    } else if (!flags->quiet)
      std::fprintf(stderr, "wrote %s (%dx%d, %d frames at %d fps, %s, %.1f s) and %s\n",
                   result.video_path.c_str(), result.width, result.height, result.frames,
                   result.fps, result.variant.c_str(), result.timings.total,
                   result.sidecar_path.c_str());
  });
}

}  // namespace rayvid::apps
