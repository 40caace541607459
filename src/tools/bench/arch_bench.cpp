// `rayvid bench --arch`: the real Wan architectures with random weights, timed through the
// pipeline's own denoising loop (see arch_bench.h).
#include "tools/bench/arch_bench.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "core/device.h"
#include "core/memory.h"
#include "core/stopwatch.h"
#include "engine/component_factory.h"
#include "models/random_weights.h"
#include "models/wan_dit/model.h"
#include "models/wan_vae/wan_vae.h"
#include "ops/kernel_backend.h"
#include "pipeline/denoise.h"
#include "pipeline/recipes.h"
#include "sampling/scheduler.h"
#include "tools/bench/cost_model.h"
#include "tools/bench/sampler_bench.h"

namespace rayvid::tools::bench {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

std::string device_words(c10::Device device) {
  if (device.is_cpu()) return fmt::format("cpu ({} threads)", at::get_num_threads());
  return device.str();
}

double peak_bytes(c10::Device device) {
  return device.is_cuda() ? static_cast<double>(device_peak_allocated_bytes(device))
                          : static_cast<double>(peak_rss_bytes());
}

bool all_finite(const at::Tensor& t) { return at::isfinite(t).all().item<bool>(); }

// The memory model's prediction for this benchmark: one expert of random weights, the encoders'
// outputs as stand-ins (no encoder weights), everything resident.
double predicted_peak(const ArchSpec& arch, const pipeline::VideoShape& shape, c10::Device device,
                      c10::ScalarType dtype, bool guided) {
  engine::ModelMemoryFacts facts = memory_facts(arch);
  facts.experts = 1;
  facts.text_encoder_parameters = facts.image_encoder_parameters = 0;
  engine::MemorySettings s;
  s.dtype_bytes = static_cast<int64_t>(c10::elementSize(dtype));
  s.guided = guided;
  s.gpu = device.is_cuda();
  return engine::estimate_memory(facts, shape, s).device_peak;
}

// Fails before anything is allocated when the memory model's peak for this benchmark cannot fit
// the memory that is free now.
void check_memory(const ArchSpec& arch, const pipeline::VideoShape& shape, c10::Device device,
                  c10::ScalarType dtype, bool guided) {
  const double need = predicted_peak(arch, shape, device, dtype, guided);
  const double available = static_cast<double>(free_memory_bytes(device));
  RAYVID_CHECK(available == 0 || need < available, OutOfMemory,
               "--arch {} at {}x{}x{} in {} needs about {:.1f} GiB but {:.1f} GiB of {} memory is "
               "free; use --dtype bf16, a smaller size, or a smaller --arch such as wan2.1-1.3b",
               arch.name, shape.width, shape.height, shape.frames, dtype_label(dtype), need / kGiB,
               available / kGiB, device.is_cuda() ? "GPU" : "CPU");
}

}  // namespace

models::wan_dit::WanDiTConfig dit_config(const ArchSpec& arch) {
  models::wan_dit::WanDiTConfig c;
  c.patch_size = {1, arch.patch, arch.patch};
  c.dim = arch.dim;
  c.num_attention_heads = arch.heads;
  c.in_channels = arch.in_channels;
  c.out_channels = arch.out_channels;
  c.text_dim = arch.text_dim;
  c.freq_dim = arch.freq_dim;
  c.ffn_dim = arch.ffn_dim;
  c.num_layers = arch.layers;
  if (arch.image_tokens > 0) {
    c.image_dim = arch.image_dim;
    c.added_kv_proj_dim = arch.dim;
  }
  c.validate();
  return c;
}

models::wan_vae::WanVAEConfig vae_config(const ArchSpec& arch) {
  return arch.vae == "wan2.2" ? models::wan_vae::WanVAEConfig::wan22()
                              : models::wan_vae::WanVAEConfig::wan21();
}

ArchTiming time_architecture(const ArchSpec& arch, const pipeline::VideoShape& shape,
                             const ArchBenchOptions& options) {
  RAYVID_CHECK(options.steps >= 1 && options.warmup_steps >= 0, BadArgument,
               "--steps must be at least 1 (got {}) and --warmup at least 0 (got {})",
               options.steps, options.warmup_steps);
  const Tokens tokens = count_tokens(arch, shape);  // validates the size
  const c10::Device device = resolve_device(options.device);
  const c10::ScalarType dtype = options.dtype.empty()
                                    ? (device.is_cuda() ? c10::kBFloat16 : c10::kFloat)
                                    : parse_dtype(options.dtype);
  check_memory(arch, shape, device, dtype, options.guided);
  auto scheduler = sampling::make_scheduler(options.sampler, sampling::SchedulerConfig{});
  c10::InferenceMode inference;
  reset_device_peak(device);

  Stopwatch total;
  auto report = [&](const char* stage, int step = 0, int total_steps = 0, double per_step = 0) {
    if (options.progress)
      options.progress(Progress{stage, step, total_steps, per_step, per_step * (total_steps - step),
                                total.seconds()});
  };

  ArchTiming timing;
  timing.device = device_words(device);
  timing.kernels = ops::kernel_backend_name(ops::parse_kernel_backend(options.kernels, device));
  timing.dtype = dtype_label(dtype);
  timing.tokens = tokens.video;
  const models::wan_vae::WanVAEConfig vae = vae_config(arch);
  const int64_t batch = options.guided ? 2 : 1;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(options.seed + 1);
  const auto on = [&](at::Tensor t) { return t.to(device); };
  const at::Tensor noise = at::randn(
      {1, vae.z_dim, tokens.latent_frames, tokens.latent_height, tokens.latent_width}, gen);
  timing.latent_shape = noise.sizes().vec();

  at::Tensor latents;
  {
    report("weights");
    Stopwatch watch;
    models::wan_dit::WanDiTOptions dit_options;
    dit_options.device = device;
    dit_options.dtype = dtype;
    dit_options.kernels = ops::parse_kernel_backend(options.kernels, device);
    models::wan_dit::WanDiT dit(dit_config(arch), models::RandomWeightSource(options.seed),
                                dit_options);
    models::wan_dit::WanDiTWeights built = dit.weights();  // shares the tensors
    models::wan_dit::visit_weights(built, dit.config(),
                                   [&](const std::string&, const std::vector<int64_t>&,
                                       models::wan_dit::WeightPrecision, at::Tensor& slot) {
                                     if (slot.defined()) timing.dit_parameters += slot.numel();
                                   });
    synchronize(device);
    timing.build_seconds = watch.seconds();
    auto denoiser = engine::make_denoiser(std::move(dit));

    // Stand-ins for the encoders' outputs, with their real shapes: umT5 rows are O(0.1).
    const at::Tensor text = at::randn({batch, arch.text_tokens, arch.text_dim}, gen) * 0.1;
    std::optional<at::Tensor> image;
    if (arch.image_tokens > 0)
      image = on(at::randn({batch, arch.image_tokens, arch.image_dim}, gen));
    watch.reset();
    denoiser->set_context(on(text), image);
    synchronize(device);
    timing.context_seconds = watch.seconds();

    pipeline::DenoiseSetup setup;
    setup.noise = on(noise);
    setup.high_noise = denoiser.get();
    setup.guidance_scale = options.guided ? 5.0 : 1.0;
    setup.guided_steps = options.guided_steps;
    setup.patch_h = setup.patch_w = static_cast<int>(arch.patch);
    const int64_t extra_channels = arch.in_channels - vae.z_dim;  // I2V: mask 4 + image latent
    if (extra_channels > 0) {
      setup.conditioning = pipeline::Conditioning::kConcat;
      setup.condition = on(at::randn(
          {1, extra_channels, tokens.latent_frames, tokens.latent_height, tokens.latent_width},
          gen));
    }
    const pipeline::SamplingRecipe* recipe =
        options.recipe.empty() ? nullptr : pipeline::find_recipe(options.recipe);
    RAYVID_CHECK(options.recipe.empty() || recipe, BadArgument, "--recipe '{}' is unknown; use {}",
                 options.recipe, fmt::join(pipeline::recipe_names(), ", "));
    const bool whole_schedule = recipe || options.step_cache || options.guided_steps >= 0;
    const int warmup = whole_schedule ? 0 : options.warmup_steps;
    const int total_steps = recipe ? recipe->steps : warmup + options.steps;
    if (recipe) {
      scheduler =
          sampling::make_scheduler(recipe->sampler, sampling::SchedulerConfig{}, recipe->shift);
      setup.guidance_scale = recipe->guidance_scale;
      scheduler->set_sigmas(recipe->sigmas);
    } else {
      scheduler->set_timesteps(total_steps);
    }
    std::optional<pipeline::StepCache> cache;
    if (options.step_cache) {
      cache.emplace(*options.step_cache, total_steps);
      setup.step_cache = &*cache;
    }
    report("denoise", 0, total_steps);
    Stopwatch denoise_watch;
    watch.reset();
    latents = pipeline::denoise(
        setup, *scheduler, [&](int step, double, const at::Tensor&, const at::Tensor&) {
          synchronize(device);
          if (step >= warmup) timing.step_seconds.push_back(watch.seconds());
          report("denoise", step + 1, total_steps, denoise_watch.seconds() / (step + 1));
          watch.reset();
        });
    timing.denoise_seconds = denoise_watch.seconds();
    timing.denoise_peak_bytes = peak_bytes(device);
    if (cache) timing.cache_steps = cache->decisions();
    const bool guided = setup.guidance_scale > 1;
    for (int i = 0; i < total_steps; ++i) {
      const bool ran = timing.cache_steps.empty() || timing.cache_steps[i];
      const bool step_guided = guided && (options.guided_steps < 0 || i < options.guided_steps);
      if (ran) timing.dit_forwards += step_guided ? 2 : 1;
    }
  }  // the DiT is freed here, as the engine frees it before decoding on small machines
  timing.finite = all_finite(latents);

  if (options.decode) {
    // The engine's choice: the VAE in fp32 on the CPU, in the compute dtype on CUDA.
    report("vae_decode");
    const auto vae_dtype = device.is_cuda() ? dtype : c10::kFloat;
    auto autoencoder = engine::make_vae(models::wan_vae::WanVAE::from_source(
        vae, models::RandomWeightSource(options.seed + 2), device, vae_dtype));
    Stopwatch watch;
    const at::Tensor video = autoencoder->decode(latents);
    synchronize(device);
    timing.vae_decode_seconds = watch.seconds();
    timing.video_shape = video.sizes().vec();
    timing.finite = timing.finite && all_finite(video);
  }
  timing.peak_memory_bytes = peak_bytes(device);
  timing.predicted_peak_bytes = predicted_peak(arch, shape, device, dtype, options.guided);
  return timing;
}

std::string format_arch_timing(const ArchSpec& arch, const pipeline::VideoShape& shape,
                               const ArchBenchOptions& options, const ArchTiming& t) {
  const StepStats s = summarize_steps(t.step_seconds);
  std::string out = fmt::format(
      "{} with random weights ({:.3f}B DiT parameters{}), {}x{}x{} = {} tokens, {} on {}\n",
      arch.description, t.dit_parameters / 1e9,
      arch.experts > 1 ? fmt::format(", one of {} experts", arch.experts) : "", shape.width,
      shape.height, shape.frames, t.tokens, t.dtype, t.device);
  out += fmt::format(
      "  denoise   {:.3f} s/step (median of {} timed, min {:.3f}, max {:.3f}; {}, "
      "{}{} warm-up)\n",
      s.median, t.step_seconds.size(), s.min, s.max, options.sampler,
      options.guided ? "batch 2 with guidance, " : "no guidance, ", options.warmup_steps);
  if (options.step_cache || !options.recipe.empty() || options.guided_steps >= 0) {
    int ran = 0;
    for (bool r : t.cache_steps) ran += r ? 1 : 0;
    out += fmt::format(
        "  schedule  {:.2f} s for the whole schedule, {} DiT forwards{}{}{}\n", t.denoise_seconds,
        t.dit_forwards, options.recipe.empty() ? "" : ", recipe " + options.recipe,
        options.step_cache ? fmt::format(", {} ran the blocks on {} of {} steps",
                                         options.step_cache->method, ran, t.cache_steps.size())
                           : "",
        options.guided_steps >= 0 ? fmt::format(", guidance on {} steps", options.guided_steps)
                                  : "");
  }
  out += fmt::format("  prompt    {:.3f} s once per run (per-block text K/V)\n", t.context_seconds);
  if (!t.video_shape.empty())
    out += fmt::format("  VAE       {:.3f} s decode to [{}]\n", t.vae_decode_seconds,
                       fmt::join(t.video_shape, ", "));
  out += fmt::format(
      "  memory    {:.2f} GiB peak while denoising, {:.2f} GiB peak overall ({}); the memory "
      "model predicts {:.2f} GiB\n",
      t.denoise_peak_bytes / kGiB, t.peak_memory_bytes / kGiB,
      t.device.starts_with("cpu") ? "process RSS" : "CUDA allocator",
      t.predicted_peak_bytes / kGiB);
  out += fmt::format("  weights   {:.1f} s to draw (not part of any step)\n", t.build_seconds);
  return out;
}

nlohmann::json arch_timing_json(const ArchSpec& arch, const pipeline::VideoShape& shape,
                                const ArchBenchOptions& options, const ArchTiming& t) {
  const StepStats s = summarize_steps(t.step_seconds);
  return {
      {"arch", arch.name},
      {"description", arch.description},
      {"width", shape.width},
      {"height", shape.height},
      {"frames", shape.frames},
      {"tokens", t.tokens},
      {"latent_shape", t.latent_shape},
      {"video_shape", t.video_shape},
      {"device", t.device},
      {"dtype", t.dtype},
      {"kernels", t.kernels},
      {"sampler", options.sampler},
      {"guided", options.guided},
      {"warmup_steps", options.warmup_steps},
      {"recipe", options.recipe},
      {"guided_steps", options.guided_steps},
      {"step_cache", options.step_cache
                         ? nlohmann::json({{"method", options.step_cache->method},
                                           {"table", options.step_cache->table},
                                           {"threshold", options.step_cache->threshold}})
                         : nlohmann::json(nullptr)},
      {"cache_steps", t.cache_steps},
      {"dit_forwards", t.dit_forwards},
      {"denoise_seconds", t.denoise_seconds},
      {"dit_parameters", t.dit_parameters},
      {"build_seconds", t.build_seconds},
      {"context_seconds", t.context_seconds},
      {"step_seconds", t.step_seconds},
      {"step_median_seconds", s.median},
      {"vae_decode_seconds", t.vae_decode_seconds},
      {"denoise_peak_bytes", t.denoise_peak_bytes},
      {"peak_memory_bytes", t.peak_memory_bytes},
      {"predicted_peak_bytes", t.predicted_peak_bytes},
      {"finite", t.finite},
  };
}

}  // namespace rayvid::tools::bench
