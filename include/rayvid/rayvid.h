// rayvid's public C++ API: plain types only (no LibTorch), so an application can embed the engine
// without LibTorch headers. The CLI (`rayvid generate`) and the server are thin layers over this.
//
//   auto engine = rayvid::Engine::open({.model_dir = "Wan2.2-TI2V-5B-Diffusers"});
//   rayvid::GenerateRequest request;
//   request.prompt = "a red fox runs through fresh snow, tracking shot";
//   auto result = engine->generate(request, [](const rayvid::Progress& p) { ... });
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rayvid/error.h"

namespace rayvid {

// A LoRA file and how strongly to apply it (models/wan_dit/lora.h lists the key formats read).
struct LoraOption {
  std::string path;
  double strength = 1.0;
};

struct EngineOptions {
  std::string model_dir;  // a diffusers-layout Wan folder, or a single-file Wan DiT (.safetensors)
  // Components from elsewhere: with a folder they replace its own; with a DiT file they supply
  // the rest (vae, text_encoder and tokenizer always; image_encoder for Wan2.1 I2V/FLF2V) as
  // diffusers component folders. model_2: A14B's low-noise expert (a folder or a DiT file).
  std::string model_2, text_encoder, tokenizer, vae, image_encoder;
  std::string device = "auto";  // auto | cpu | cuda
  std::string dtype = "";       // fp32 | bf16 | fp16; empty = bf16 on CUDA, fp32 on the CPU
  // How the DiT blocks' Linear weights are kept: fp8 (float8_e4m3fn + scale, dequantized per
  // layer: half of bf16's memory; a checkpoint not in fp8 is quantized at load, one scale per
  // output row), compute (the dtype above), or auto (fp8 when the checkpoint stores fp8).
  std::string weights = "auto";
  // What stays on the device (engine/memory_profile.h): max | balanced | low | auto (the first
  // whose predicted peak fits the free device memory; max on the CPU).
  std::string memory = "auto";
  // The DiT's hot ops (attention, q/k RMSNorm, 3D RoPE, AdaLN, gated residual): auto (rayvid on
  // CUDA, aten elsewhere) | rayvid (rayvid's CUDA kernels, ATen where they do not apply) | aten |
  // emu (the kernels' source on the CPU emulator: slow, for tests) | reference.
  std::string kernels = "auto";
  // Merged into the weights at load: `loras` into the transformer (A14B: the high-noise expert),
  // `loras_2` into transformer_2 (A14B's low-noise expert). Keys that match nothing in the model
  // are an error unless lora_allow_unmatched.
  std::vector<LoraOption> loras, loras_2;
  bool lora_allow_unmatched = false;
};

struct GenerateRequest {
  std::string prompt;                // required, UTF-8
  std::string negative_prompt;       // diffusers' default: empty
  std::optional<std::string> image;  // image-to-video source (path): the first frame
  // The last frame (path): Wan2.1 FLF2V (required there) and Wan2.2 A14B image-to-video.
  std::optional<std::string> last_image;
  // Wan2.1 VACE only (refused, kUnsupported, by other models): subject/style reference images,
  // keyframes (pixel frame index -> image path; --image and --last-image are frames 0 and last),
  // and a control video (MP4) to follow, with the hints' weight.
  std::vector<std::string> reference_images;
  std::map<int, std::string> keyframes;
  std::optional<std::string> control_video;
  std::optional<double> control_scale;
  std::string size = "16:9";        // aspect preset
  std::string resolution = "540p";  // short-side preset
  std::string duration = "5s";      // 5s | 10s
  // Explicit overrides; unset = from the presets and the model. A set value is always used or
  // refused (never replaced by a default), so 0, NaN and infinity are errors, not "default".
  std::optional<int> width, height, frames, fps;
  uint64_t seed = 0;         // torch.Generator.manual_seed's meaning (parse_seed maps -1 to 2^64-1)
  std::optional<int> steps;  // unset = the variant's default
  std::string sampler;       // unipc | euler | dpm++; empty = unipc (or the recipe's)
  // A sampling recipe that fixes steps, schedule, sampler and guidance together: "" (none) or
  // "distill-4step", the step-distill LoRAs' recipe (lightx2v, Lightning; pipeline/recipes.h).
  // A given steps/sampler/guidance/shift that contradicts it is refused, never overridden.
  std::string recipe;
  // Step caching (pipeline/step_cache.h): "" (none), "teacache", "magcache" or "fbcache", with
  // its threshold (required: TeaCache Wan2.1 1.3B 0.05-0.08, 14B 0.14-0.3; MagCache 0.06-0.24;
  // FirstBlockCache 0.05-0.2) and, for TeaCache and MagCache, the published table to use (t2v-1.3b,
  // t2v-14b, i2v-480p, i2v-720p; empty = the model's own, found from its size and the resolution; a
  // model without one needs it named). teacache_e0: watch the projected embedding (TeaCache's
  // use_ret_steps). MagCache: at most cache_max_skip steps in a row (default 3) and none in the
  // first cache_retention of the steps (default 0.2).
  // Guidance on the first fraction of the steps only (0 < f <= 1; ceil(f * steps) steps): the rest
  // run the conditional branch alone, one forward instead of two. Needs guidance.
  std::optional<double> guidance_until;
  std::string cache;
  std::optional<double> cache_threshold;
  std::string cache_table;
  bool teacache_e0 = false;
  std::optional<int> cache_max_skip;
  std::optional<double> cache_retention;
  std::optional<double> guidance_scale;    // unset = the variant's default; <= 1 disables
  std::optional<double> guidance_scale_2;  // low-noise expert of two-expert models
  std::optional<double> shift;             // unset = the scheduler config's shift
  std::string output;                      // MP4 path; empty = a name from time, seed and prompt
  std::string dump_latents_dir;            // research hook: every step's latent and prediction
  bool analyze = false;                    // run `rayvid analyze` on the result
  bool dry_run = false;  // validate and plan only: fills the result's shape, nothing runs
};

// A seed as torch.manual_seed takes it: an integer in [-2^63, 2^64 - 1]; a negative one means its
// 64-bit two's complement (torch: -1 draws what 2^64 - 1 draws). Anything else is kBadArgument.
uint64_t parse_seed(const std::string& text);

// "FILE" or "FILE:STRENGTH" (--lora): the strength is what follows the last ':' when it reads as
// a number (so paths with ':' still work), else 1. A malformed strength is kBadArgument.
LoraOption parse_lora_option(const std::string& text);

struct StageTimings {
  double load = 0, text_encode = 0, image_encode = 0, denoise = 0, vae_decode = 0, mux = 0,
         total = 0;
};

struct Progress {
  std::string stage;  // "load", "text_encode", "image_encode", "denoise", "vae_decode", "mux"
  int step = 0;       // 1-based within the denoise stage
  int total_steps = 0;
  double seconds_per_step = 0;
  double eta_seconds = 0;
  double elapsed_seconds = 0;
};
using ProgressCallback = std::function<void(const Progress&)>;

struct GenerateResult {
  std::string video_path;
  std::string sidecar_path;
  int width = 0, height = 0, frames = 0, fps = 0;
  int steps = 0;
  std::string variant;
  // Where each component's weights came from (folder or file), by component name.
  std::map<std::string, std::string> model_files;
  StageTimings timings;
  std::vector<double> step_seconds;
  double peak_memory_bytes = 0;     // peak RSS on the CPU, allocator peak on CUDA
  double estimated_peak_bytes = 0;  // the planner's estimate, checked before any heavy work
  double guidance_scale = 0, guidance_scale_2 = 0;
  std::string sampler, recipe;  // what ran: the sampler (recipe's or request's), the recipe if any
  // Step caching that ran: method and table ("" without), and per step whether the DiT's blocks
  // ran (true) or the cached residual was reused (false).
  std::string cache, cache_table;
  std::vector<bool> cache_steps;
  int guided_steps = 0;  // steps that ran with guidance
  double shift = 0;      // the timestep shift that ran (the request's or the scheduler config's)
  // Which path the DiT's ops took over this generation: the kernel backend that ran (auto
  // resolved) and, per op ("attention", "rms_norm", "rope3d", "layer_norm_modulate",
  // "gated_residual"), the calls rayvid's kernel served and those it did not apply to (shapes,
  // dtypes, device) that went to ATen. Both zero under aten and reference.
  struct KernelCalls {
    int64_t kernel = 0, fallback = 0;
  };
  std::string kernel_backend;
  std::map<std::string, KernelCalls> kernel_calls;
  std::string weight_storage;  // the DiT blocks' Linear weights: "fp8" or the compute dtype
  std::string memory_profile;  // the memory profile that ran: max, balanced or low
  // The LoRAs merged into the model that ran, per expert ("transformer", "transformer_2").
  struct LoraApplied {
    std::string expert, path, format;
    double strength = 1.0;
    int64_t tensors_changed = 0;
    std::vector<std::string> unmatched, skipped;  // keys ignored (allowed), image-branch keys
  };
  std::vector<LoraApplied> loras;
};

// What a loaded model can be asked for (read from its folder; nothing heavy loads to tell).
struct ModelInfo {
  std::string variant;               // e.g. "wan2.2-ti2v-5b"
  std::string family;                // "wan2.1-t2v", "wan2.1-i2v", "wan2.2-ti2v", "wan2.2-a14b"
  bool accepts_image = false;        // image-to-video
  bool requires_image = false;       // image-to-video only (no text-to-video)
  bool two_experts = false;          // Wan2.2 A14B: loras_2 / guidance_scale_2 apply
  bool accepts_last_image = false;   // first + last frame (Wan2.1 FLF2V, Wan2.2 A14B I2V)
  bool requires_last_image = false;  // Wan2.1 FLF2V: its image embedder expects both frames
  bool vace = false;                 // Wan2.1 VACE: reference images, keyframes, a control video
};

class Engine {
 public:
  static std::unique_ptr<Engine> open(const EngineOptions& options);
  virtual ~Engine() = default;
  // One generation at a time per engine. A dry run (request.dry_run) only reads the model's
  // description, so it may run on another thread while a generation is in progress: a server
  // validates requests with it while its worker generates.
  // A progress callback may throw to stop the generation (a server's cancel): the exception
  // propagates unchanged and no output file is left behind.
  virtual GenerateResult generate(const GenerateRequest& request,
                                  const ProgressCallback& progress = {}) = 0;
  virtual std::string variant() const = 0;  // e.g. "wan2.2-ti2v-5b"
  virtual ModelInfo info() const = 0;
};

}  // namespace rayvid
