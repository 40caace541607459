// What a model folder can do (ModelPlan) and what one request will do with it (RequestPlan):
// everything decided and validated before any heavy work, so a bad or impossible request fails
// in milliseconds with the numbers.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "engine/component_factory.h"
#include "engine/memory_model.h"
#include "engine/memory_profile.h"
#include "models/model_folder.h"
#include "pipeline/presets.h"
#include "pipeline/step_cache.h"
#include "pipeline/vace_condition.h"
#include "rayvid/rayvid.h"
#include "sampling/scheduler.h"

namespace rayvid::engine {

struct ModelPlan {
  std::string variant;             // "wan2.2-ti2v-5b" or "custom (...)"
  std::string family;              // "wan2.1-t2v", "wan2.1-i2v", "wan2.2-ti2v", "wan2.2-a14b"
  std::string pipeline_class;      // "WanPipeline" or "WanImageToVideoPipeline"
  bool expand_timesteps = false;   // Wan2.2 TI2V: per-token timesteps, first-frame replacement
  bool has_image_encoder = false;  // Wan2.1 I2V: CLIP tokens
  bool two_experts = false;        // Wan2.2 A14B
  double boundary_ratio = 0;       // A14B expert switch, fraction of num_train_timesteps
  bool accepts_image = false;
  bool requires_image = false;
  // First + last frame: Wan2.1 FLF2V (a CLIP image embedder with positions for two images: it
  // needs both) and Wan2.2 A14B I2V (no CLIP; the mask marks the last frame too).
  bool accepts_last_image = false;
  bool requires_last_image = false;
  // Wan2.1 VACE (WanVACEPipeline): references, keyframes (--image / --last-image are frames 0 and
  // last) and a control video, all optional.
  bool vace = false;
  int max_sequence_length = 512;
  int default_steps = 50;
  double default_guidance = 5.0;
  double default_guidance_2 = 5.0;
  pipeline::PresetFamily presets;
  sampling::SchedulerConfig scheduler;
  uint64_t weight_bytes = 0;  // all safetensors of the folder, as stored
  // Floating-point parameters in those files (from their headers): what the weights take once
  // loaded in the compute dtype, whatever they are stored in (fp32, bf16, fp8).
  uint64_t weight_parameters = 0;
  bool dit_stored_fp8 = false;  // the transformer checkpoint holds fp8 weights
  // Floating-point parameters per component ("transformer", "text_encoder", ...).
  std::map<std::string, uint64_t> component_parameters;
  ModelMemoryFacts memory;  // what the memory model needs (engine/memory_model.h)
  struct VaeShape {
    int z_dim = 16, spatial_stride = 8, temporal_stride = 4;
  } vae_shape;
  int64_t dit_dim = 0, dit_ffn = 0, dit_layers = 0;
};

ModelPlan describe_model(const models::ModelFolder& folder);

// The LoRA options, checked before anything loads: every file exists (kBadInput), strengths are
// finite (kBadArgument), and --lora-2 only on a two-expert model (kUnsupported).
void check_lora_options(const EngineOptions& options, const ModelPlan& model);

// Guidance above this overflows the extrapolation (uncond + g * (cond - uncond)) toward
// infinities in bf16/fp32 and gives black frames; real use is 1..20.
inline constexpr double kMaxGuidance = 100.0;

struct RequestPlan {
  pipeline::VideoShape shape;
  int steps = 0;
  bool guided = false;
  double guidance_scale = 0, guidance_scale_2 = 0;
  double shift = 0;     // what the sampler runs with: the request's, else the scheduler config's
  std::string sampler;  // what runs: the request's (default unipc) or the recipe's
  std::string recipe;   // the request's recipe, if any
  std::vector<double> sigmas;  // a recipe's unshifted schedule; empty = from `steps`
  std::optional<pipeline::StepCacheSettings> step_cache;  // TeaCache / MagCache
  int guided_steps = 0;  // the steps that use guidance, from the start (0 without guidance)
  std::optional<std::filesystem::path> image;
  std::optional<std::filesystem::path> last_image;
  // VACE: what the conditioning reads (paths checked; keyframe indices within the frames).
  std::vector<std::filesystem::path> references;
  std::map<int, std::filesystem::path> keyframes;
  std::optional<std::filesystem::path> control_video;
  double control_scale = 1.0;
  std::filesystem::path output;
  double estimated_peak_bytes = 0;
  MemoryProfile memory_profile = MemoryProfile::kMax;  // the request's, or auto's choice
};

// Validates the request against the model and the device; throws kBadArgument / kUnsupported /
// kOutOfMemory with the fix. weights_loaded: a later request of the same engine, whose weights
// already occupy memory that is no longer free but is not needed a second time either.
// profile: the memory profile to plan for; unset = auto (the first of max, balanced, low whose
// estimate fits the free device memory; max on the CPU).
RequestPlan plan_request(const ModelPlan& model, const GenerateRequest& request,
                         const LoadOptions& load, bool weights_loaded = false,
                         std::optional<MemoryProfile> profile = std::nullopt);

// kOutOfMemory, with the numbers and the fixes, when a GPU run's host memory estimate does not
// fit what is available (0 = unknown: not checked).
void check_host_memory(double needed, double available, const std::string& profile);

// The VACE conditioning's pixels: keyframes resized (cover, centre crop) to the video, references
// as given, the control video's first frames resized likewise (kBadInput if it is too short).
pipeline::VaceInputs vace_inputs(const RequestPlan& plan);

// A default output name: rayvid-YYYYmmdd-HHMMSS-seed<seed>-<first words of the prompt>.mp4
std::string default_output_name(const GenerateRequest& request);

// The memory model (engine/memory_model.h) for a request on this model (on the CPU: gpu false).
MemoryEstimate estimate_request_memory(const ModelPlan& model, const pipeline::VideoShape& shape,
                                       int64_t dtype_bytes, bool guided, bool fp8_storage,
                                       MemoryProfile profile, bool gpu);
// Its device peak: what the planner checks against the free memory.
double estimate_peak_bytes(const ModelPlan& model, const pipeline::VideoShape& shape,
                           int64_t dtype_bytes, bool guided, bool fp8_storage = false,
                           MemoryProfile profile = MemoryProfile::kMax);
// What the profile keeps resident (weights, +5 % for the allocator).
double estimate_weight_bytes(const ModelPlan& model, int64_t dtype_bytes, bool fp8_storage = false,
                             MemoryProfile profile = MemoryProfile::kMax);

}  // namespace rayvid::engine
