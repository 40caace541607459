// The Engine for Wan-family folders: reads model_index.json to decide the pipeline (text-to-video,
// Wan2.1 image-to-video with CLIP, Wan2.2 TI2V, two experts), loads the components once, and runs
// requests end to end: validate -> encode -> noise -> denoise -> decode -> MP4 + sidecar.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>

#include "core/check.h"
#include "core/device.h"
#include "core/memory.h"
#include "core/stopwatch.h"
#include "engine/analysis_summary.h"
#include "engine/component_factory.h"
#include "engine/memory_profile.h"
#include "engine/on_demand.h"
#include "engine/provenance.h"
#include "engine/request_plan.h"
#include "engine/torch_errors.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "io/video.h"
#include "models/wan_dit/single_file.h"
#include "models/wan_dit/time_embedder.h"
#include "models/wan_vae/wan_vae.h"
#include "ops/kernel_backend.h"
#include "ops/kernel_path.h"
#include "pipeline/generation.h"
#include "rayvid/rayvid.h"
#include "sampling/scheduler.h"

namespace rayvid {
namespace {
namespace fs = std::filesystem;

class WanEngine : public Engine {
 public:
  explicit WanEngine(const EngineOptions& options)
      : folder_(models::ModelFolder::open(
            models::ModelSources{options.model_dir, options.model_2, options.text_encoder,
                                 options.tokenizer, options.vae, options.image_encoder})) {
    Stopwatch watch;  // folder reading only; weights load on the first request
    plan_ = engine::describe_model(folder_);
    load_.device = resolve_device(options.device);
    load_.dtype = options.dtype.empty() ? (load_.device.is_cuda() ? c10::kBFloat16 : c10::kFloat)
                                        : parse_dtype(options.dtype);
    load_.kernels = ops::parse_kernel_backend(options.kernels, load_.device);
    const bool fp8 = engine::wants_fp8_storage(options.weights, plan_.dit_stored_fp8);
    load_.weight_storage =
        fp8 ? models::wan_dit::WeightStorage::kFp8 : models::wan_dit::WeightStorage::kCompute;
    if (options.memory != "auto") memory_ = engine::parse_memory_profile(options.memory);
    loras_ = options.loras, loras_2_ = options.loras_2;
    lora_allow_unmatched_ = options.lora_allow_unmatched;
    engine::check_lora_options(options, plan_);
    load_seconds_ = watch.seconds();
  }

  std::string variant() const override { return plan_.variant; }
  ModelInfo info() const override {
    return {plan_.variant,
            plan_.family,
            plan_.accepts_image,
            plan_.requires_image,
            plan_.two_experts,
            plan_.accepts_last_image,
            plan_.requires_last_image,
            plan_.vace};
  }

  // Every LibTorch error becomes a rayvid::Error here, at the engine boundary: out of memory on any
  // device is kOutOfMemory with the fix, anything else kInternal naming the failing op.
  GenerateResult generate(const GenerateRequest& request,
                          const ProgressCallback& progress) override {
    try {
      return run(request, progress);
    } catch (const c10::Error& e) {
      engine::rethrow_as_rayvid_error(e);
    } catch (const std::bad_alloc&) {
      fail(ErrorCategory::kOutOfMemory, "out of memory during generation: {}", engine::kMemoryFix);
    }
  }

 private:
  GenerateResult run(const GenerateRequest& request, const ProgressCallback& progress) {
    c10::InferenceMode guard(inference_mode_on(load_.device));
    Stopwatch total;
    // Validate everything before any heavy work; load the components on first use.
    const engine::RequestPlan plan = engine::plan_request(
        plan_, request, load_, loaded_, loaded_ ? std::optional(profile_) : memory_);
    const fs::path output = plan.output;
    if (request.dry_run) {
      GenerateResult planned = planned_result(plan);
      if (plan.step_cache && plan.step_cache->method == "teacache")
        planned.cache_steps = teacache_plan(plan);
      return planned;
    }
    // Both output files exist (empty, as temporaries) before any heavy work: an unwritable
    // --output fails now, and Ctrl-C removes them (io/temp_files.h).
    io::OutputSet outputs({output, engine::sidecar_path(output)});
    reset_device_peak(load_.device);  // per request on CUDA; RSS can only be a process peak
    if (!loaded_) {
      if (progress) progress(Progress{"load", 0, 0, 0, 0, total.seconds()});
      Stopwatch watch;
      make_components(plan.memory_profile);
      // What stays resident loads now; the rest when the pipeline first uses it.
      if (profile_ == engine::MemoryProfile::kMax) {
        text_encoder_->ensure_loaded();
        if (image_encoder_) image_encoder_->ensure_loaded();
        vae_->ensure_loaded();
      }
      high_->ensure_loaded();
      if (low_ && profile_ != engine::MemoryProfile::kLow) low_->ensure_loaded();
      load_seconds_ += watch.seconds();
      loaded_ = true;
    }

    GenerateResult result = planned_result(plan);
    result.timings.load = load_seconds_;
    result.loras = loras_applied_;
    auto report = [&](const std::string& stage, int step = 0, int total_steps = 0,
                      double per_step = 0) {
      if (!progress) return;
      Progress p;
      p.stage = stage;
      p.step = step;
      p.total_steps = total_steps;
      p.seconds_per_step = per_step;
      p.eta_seconds = per_step * (total_steps - step);
      p.elapsed_seconds = total.seconds();
      progress(p);
    };

    // Encode, condition, denoise and decode on the compute device (pipeline/generation.h).
    pipeline::GenerationSpec spec;
    spec.prompt = request.prompt;
    spec.negative_prompt = request.negative_prompt;
    if (plan.image) {
      spec.source =
          io::resize_cover_crop(io::read_image(*plan.image), plan.shape.width, plan.shape.height);
    }
    if (plan.last_image) {
      spec.last = io::resize_cover_crop(io::read_image(*plan.last_image), plan.shape.width,
                                        plan.shape.height);
    }
    if (plan_.vace) {
      spec.source.reset(), spec.last.reset();  // VACE takes them as keyframes
      spec.vace = engine::vace_inputs(plan);
    }
    spec.shape = plan.shape;
    spec.seed = request.seed;
    spec.guidance_scale = plan.guidance_scale;
    spec.guidance_scale_2 = plan.guidance_scale_2;
    spec.expand_timesteps = plan_.expand_timesteps;
    spec.max_sequence_length = plan_.max_sequence_length;
    spec.boundary_timestep =
        plan_.boundary_ratio > 0 ? plan_.boundary_ratio * plan_.scheduler.num_train_timesteps : -1;
    spec.device = load_.device;
    spec.sigmas = plan.sigmas;
    spec.step_cache = plan.step_cache;
    spec.guided_steps = plan.guided_steps == plan.steps ? -1 : plan.guided_steps;
    auto scheduler = sampling::make_scheduler(plan.sampler, plan_.scheduler, plan.shift);

    const auto dev = load_.device;
    const int steps = plan.steps;
    engine::LatentDump dump(request.dump_latents_dir);
    std::string current_stage;
    Stopwatch stage, step_watch;
    auto finish_stage = [&] {  // the previous stage's time, after its device work is done
      synchronize(dev);
      double* slot = current_stage == "text_encode"    ? &result.timings.text_encode
                     : current_stage == "image_encode" ? &result.timings.image_encode
                     : current_stage == "denoise"      ? &result.timings.denoise
                     : current_stage == "vae_decode"   ? &result.timings.vae_decode
                                                       : nullptr;
      if (slot) *slot = stage.seconds();
    };
    pipeline::GenerationHooks hooks;
    hooks.on_stage = [&](const std::string& name) {
      finish_stage();
      if (name == "denoise" && profile_ != engine::MemoryProfile::kMax) {
        // The encoders' work is done: their memory goes to the denoiser (the VAE loads again
        // for the decode).
        text_encoder_->release();
        if (image_encoder_) image_encoder_->release();
        vae_->release();
      }
      if (name == "vae_decode" && profile_ == engine::MemoryProfile::kLow && low_) {
        high_->release(), low_->release();  // the next request loads the expert it starts with
      }
      current_stage = name;
      stage.reset();
      if (name == "denoise") {
        step_watch.reset();
        report("denoise", 0, steps);
      } else {
        report(name);
      }
    };
    hooks.on_tensor = [&](const std::string& name, const at::Tensor& t) {
      dump.add_tensor(name, t);
    };
    hooks.on_step_cache = [&](const std::vector<bool>& decisions) {
      result.cache_steps = decisions;
      int64_t reused = 0;
      for (bool run : decisions) reused += run ? 0 : 1;
      spdlog::info("{}: the blocks ran on {} of {} steps ({} reused the cached residual)",
                   result.cache, static_cast<int64_t>(decisions.size()) - reused, decisions.size(),
                   reused);
    };
    hooks.on_step = [&](int i, double t, const at::Tensor& lat, const at::Tensor& pred) {
      // One reduction per step: a NaN or infinity never recovers, so stop at the step where it
      // appears instead of encoding a black video and reporting success.
      RAYVID_CHECK(at::isfinite(lat).all().item<bool>(), BadInput,
                   "denoising step {}/{} produced NaN or infinite values; likely a checkpoint "
                   "with NaN/inf weights (re-download it) or an fp16 overflow (try --dtype bf16 "
                   "or fp32)",
                   i + 1, steps);
      synchronize(dev);  // so a step's time on CUDA is its work, not its launches
      result.step_seconds.push_back(step_watch.seconds());
      step_watch.reset();
      dump.add(i, t, lat, pred);
      double sum = 0;
      for (double s : result.step_seconds) sum += s;
      report("denoise", i + 1, steps, sum / result.step_seconds.size());
    };
    pipeline::PipelineComponents components{text_encoder_.get(), image_encoder_.get(), high_.get(),
                                            low_.get(), vae_.get()};
    result.memory_profile = engine::memory_profile_name(profile_);
    const auto calls_before = ops::kernel_path_counts();
    const at::Tensor video =
        pipeline::generate_video(components, spec, *scheduler, steps, hooks);  // [1,3,F,H,W]
    result.kernel_backend = ops::kernel_backend_name(load_.kernels);
    for (const auto& [op, after] : ops::kernel_path_counts()) {
      const auto it = calls_before.find(op);
      const ops::KernelPathCounts before =
          it == calls_before.end() ? ops::KernelPathCounts{} : it->second;
      result.kernel_calls[op] = {after.kernel - before.kernel, after.fallback - before.fallback};
    }
    io::VideoFrames frames = models::wan_vae::to_frames(video);
    finish_stage();
    if (profile_ != engine::MemoryProfile::kMax) vae_->release();
    dump.finish(request, plan_.variant, plan.sampler);

    // 6. Mux: MP4 and sidecar, both atomically.
    report("mux");
    stage.reset();
    result.video_path = output.string();
    result.sidecar_path = engine::sidecar_path(output).string();
    result.peak_memory_bytes = static_cast<double>(
        load_.device.is_cuda() ? device_peak_allocated_bytes(load_.device) : peak_rss_bytes());
    result.timings.total = total.seconds();
    io::Mp4Options mp4;
    mp4.fps = plan.shape.fps;
    mp4.metadata["comment"] = engine::provenance_json(request, plan, result).dump();
    mp4.metadata["title"] = request.prompt.substr(0, 200);
    io::write_mp4_file(outputs.temp_path(0), frames, mp4);
    result.timings.mux = stage.seconds();
    result.timings.total = total.seconds();
    nlohmann::json sidecar = engine::provenance_json(request, plan, result);
    if (request.analyze) {
      report("analyze");
      sidecar["analysis"] = engine::analysis_summary(outputs.temp_path(0), plan.image);
    }
    io::write_file_contents(outputs.temp_path(1), sidecar.dump(2) + "\n");
    outputs.commit();  // both land, or neither
    return result;
  }

  // TeaCache's schedule before anything runs: the scheduler's timesteps and the DiT's time MLP
  // alone (read from the checkpoint), through the rule the run applies.
  std::vector<bool> teacache_plan(const engine::RequestPlan& plan) const {
    auto scheduler = sampling::make_scheduler(plan.sampler, plan_.scheduler, plan.shift);
    if (plan.sigmas.empty()) {
      scheduler->set_timesteps(plan.steps);
    } else {
      scheduler->set_sigmas(plan.sigmas);
    }
    const auto& transformer = folder_.require("transformer");
    const at::Tensor embeddings = transformer.file.empty()
                                      ? models::wan_dit::time_embeddings_from_checkpoint(
                                            transformer.dir, scheduler->timesteps(),
                                            plan.step_cache->teacache_e0, load_.dtype)
                                      : [&] {
                                          const auto file =
                                              models::wan_dit::open_dit_file(transformer.file);
                                          return models::wan_dit::time_embeddings_from_checkpoint(
                                              file.config, file.source, scheduler->timesteps(),
                                              plan.step_cache->teacache_e0, load_.dtype);
                                        }();
    return pipeline::teacache_schedule(*plan.step_cache, embeddings);
  }

  // The components as on-demand holders for this profile (engine/on_demand.h).
  void make_components(engine::MemoryProfile profile) {
    profile_ = profile;
    engine::LoadOptions load = load_;
    load.stream_blocks = profile == engine::MemoryProfile::kLow;
    text_encoder_ = std::make_unique<engine::OnDemandTextEncoder>(
        [this, load] { return engine::load_text_encoder(folder_, load); });
    if (plan_.has_image_encoder)
      image_encoder_ = std::make_unique<engine::OnDemandImageEncoder>(
          [this, load] { return engine::load_image_encoder(folder_, load); });
    const auto& vae = plan_.vae_shape;
    vae_ = std::make_unique<engine::OnDemandAutoencoder>(
        [this, load] { return engine::load_vae(folder_, load); }, vae.z_dim, vae.spatial_stride,
        vae.temporal_stride);
    // Loading an expert reports its LoRAs; a reload (low profile) does not report them twice.
    loras_applied_.clear();
    auto expert = [this, load](const std::string& component, const std::vector<LoraOption>& loras) {
      return [this, load, component, loras, reported = false]() mutable {
        auto dit = engine::load_denoiser(folder_, component, load, loras, lora_allow_unmatched_,
                                         reported ? nullptr : &loras_applied_);
        reported = true;
        return dit;
      };
    };
    auto turns = profile == engine::MemoryProfile::kLow && plan_.two_experts
                     ? std::make_shared<engine::ExpertTurns>()
                     : nullptr;
    high_ = std::make_unique<engine::OnDemandDenoiser>(expert("transformer", loras_), turns);
    if (plan_.two_experts)
      low_ = std::make_unique<engine::OnDemandDenoiser>(expert("transformer_2", loras_2_), turns);
  }

  GenerateResult planned_result(const engine::RequestPlan& plan) const {
    GenerateResult result;
    result.variant = plan_.variant;
    result.weight_storage = load_.weight_storage == models::wan_dit::WeightStorage::kFp8
                                ? "fp8"
                                : dtype_label(load_.dtype);
    for (const auto& c : folder_.components()) result.model_files[c.name] = c.label();
    result.width = plan.shape.width;
    result.height = plan.shape.height;
    result.frames = plan.shape.frames;
    result.fps = plan.shape.fps;
    result.steps = plan.steps;
    result.guidance_scale = plan.guidance_scale;
    result.guidance_scale_2 = plan.guidance_scale_2;
    result.shift = plan.shift;
    result.sampler = plan.sampler;
    result.recipe = plan.recipe;
    result.guided_steps = plan.guided_steps;
    if (plan.step_cache) {
      result.cache = plan.step_cache->method;
      result.cache_table = plan.step_cache->table;
      // MagCache's schedule is fixed by its ratios: known before any weight loads (--dry-run);
      // TeaCache's by the DiT's time MLP (teacache_plan); FirstBlockCache's only as it runs.
      if (result.cache == "magcache")
        result.cache_steps = pipeline::magcache_schedule(*plan.step_cache, plan.steps);
    }
    result.video_path = plan.output.string();
    result.sidecar_path = engine::sidecar_path(plan.output).string();
    result.estimated_peak_bytes = plan.estimated_peak_bytes;
    return result;
  }

  models::ModelFolder folder_;
  engine::ModelPlan plan_;
  engine::LoadOptions load_;
  double load_seconds_ = 0;
  std::atomic<bool> loaded_{false};  // read by concurrent dry runs (see Engine::generate)
  std::optional<engine::MemoryProfile> memory_;  // --memory; unset = auto (the planner's choice)
  engine::MemoryProfile profile_ = engine::MemoryProfile::kMax;  // chosen by the first request
  std::unique_ptr<engine::OnDemandTextEncoder> text_encoder_;
  std::unique_ptr<engine::OnDemandImageEncoder> image_encoder_;
  std::unique_ptr<engine::OnDemandDenoiser> high_, low_;
  std::unique_ptr<engine::OnDemandAutoencoder> vae_;
  std::vector<LoraOption> loras_, loras_2_;
  bool lora_allow_unmatched_ = false;
  std::vector<GenerateResult::LoraApplied> loras_applied_;  // by the last load
};

}  // namespace

std::unique_ptr<Engine> Engine::open(const EngineOptions& options) {
  return std::make_unique<WanEngine>(options);
}

}  // namespace rayvid
