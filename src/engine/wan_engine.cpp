// The Engine for Wan-family folders: reads model_index.json to decide the pipeline (text-to-video,
// Wan2.1 image-to-video with CLIP, Wan2.2 TI2V, two experts), loads the components once, and runs
// requests end to end: validate -> encode -> noise -> denoise -> decode -> MP4 + sidecar.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <ctime>

#include "core/check.h"
#include "core/device.h"
#include "core/memory.h"
#include "core/stopwatch.h"
#include "engine/analysis_summary.h"
#include "engine/component_factory.h"
#include "engine/provenance.h"
#include "engine/request_plan.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "io/video.h"
#include "models/wan_vae/wan_vae.h"
#include "pipeline/denoise.h"
#include "rayvid/rayvid.h"
#include "sampling/scheduler.h"

namespace rayvid {
namespace {
namespace fs = std::filesystem;
using pipeline::Conditioning;

// [1, 3, H, W] in [-1, 1] from 8-bit RGB.
at::Tensor image_to_tensor(const io::Image& image) {
  at::Tensor t =
      at::from_blob(const_cast<uint8_t*>(image.rgb.data()), {image.height, image.width, 3},
                    at::kByte);                                                 // [H, W, 3]
  return t.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat).div(127.5).sub(1.0);  // [1, 3, H, W]
}

class WanEngine : public Engine {
 public:
  explicit WanEngine(const EngineOptions& options)
      : folder_(models::ModelFolder::open(options.model_dir)) {
    Stopwatch watch;  // folder reading only; weights load on the first request
    plan_ = engine::describe_model(folder_);
    load_.device = resolve_device(options.device);
    load_.dtype = options.dtype.empty() ? (load_.device.is_cuda() ? c10::kBFloat16 : c10::kFloat)
                                        : parse_dtype(options.dtype);
    load_.attention = options.attention;
    load_seconds_ = watch.seconds();
  }

  std::string variant() const override { return plan_.variant; }

  // Every LibTorch error becomes a rayvid::Error here, at the engine boundary: out of memory on any
  // device is kOutOfMemory with the fix, anything else kInternal naming the failing op.
  GenerateResult generate(const GenerateRequest& request,
                          const ProgressCallback& progress) override {
    try {
      return run(request, progress);
    } catch (const c10::Error& e) {
      translate_torch_error(e);
    } catch (const std::bad_alloc&) {
      fail(ErrorCategory::kOutOfMemory, "out of memory during generation: {}", kMemoryFix);
    }
  }

 private:
  static constexpr const char* kMemoryFix =
      "choose a lower --resolution or a shorter --duration, or --dtype bf16";

  [[noreturn]] static void translate_torch_error(const c10::Error& e) {
    std::string message = e.what_without_backtrace();
    message = message.substr(0, message.find('\n'));  // the first line names the op
    const bool oom = dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr ||
                     message.find("out of memory") != std::string::npos ||
                     message.find("not enough memory") != std::string::npos;
    if (oom) fail(ErrorCategory::kOutOfMemory, "{}: {}", message, kMemoryFix);
    fail(ErrorCategory::kInternal, "LibTorch: {}", message);
  }

  GenerateResult run(const GenerateRequest& request, const ProgressCallback& progress) {
    c10::InferenceMode guard;
    Stopwatch total;
    reset_device_peak(load_.device);  // per request on CUDA; RSS can only be a process peak
    // Validate everything before any heavy work; load the components on first use.
    const engine::RequestPlan plan = engine::plan_request(plan_, request, load_, loaded_);
    const fs::path output = plan.output;
    if (request.dry_run) return planned_result(plan);
    // Both output files exist (empty, as temporaries) before any heavy work: an unwritable
    // --output fails now, and Ctrl-C removes them (io/temp_files.h).
    io::OutputSet outputs({output, engine::sidecar_path(output)});
    if (!loaded_) {
      if (progress) progress(Progress{"load", 0, 0, 0, 0, total.seconds()});
      Stopwatch watch;
      text_encoder_ = engine::load_text_encoder(folder_, load_);
      if (plan_.has_image_encoder) image_encoder_ = engine::load_image_encoder(folder_, load_);
      high_ = engine::load_denoiser(folder_, "transformer", load_);
      if (plan_.two_experts) low_ = engine::load_denoiser(folder_, "transformer_2", load_);
      vae_ = engine::load_vae(folder_, load_);
      load_seconds_ += watch.seconds();
      loaded_ = true;
    }

    GenerateResult result = planned_result(plan);
    result.timings.load = load_seconds_;
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

    // 1. Text: [prompt; negative] in one batch when guided.
    report("text_encode");
    Stopwatch stage;
    std::vector<std::string> prompts{request.prompt};
    if (plan.guided) prompts.push_back(request.negative_prompt);
    const at::Tensor text =
        text_encoder_->encode(prompts, plan_.max_sequence_length);  // [B, 512, D]
    result.timings.text_encode = stage.seconds();

    // 2. Image: CLIP tokens (Wan2.1 I2V) and the VAE conditioning latents.
    const int64_t z = vae_->z_dim();
    const int64_t T = (plan.shape.frames - 1) / vae_->temporal_stride() + 1;
    const int64_t h = plan.shape.height / vae_->spatial_stride();
    const int64_t w = plan.shape.width / vae_->spatial_stride();
    const at::Tensor mean = vae_->latents_mean().to(at::kFloat).view({1, z, 1, 1, 1});
    const at::Tensor inv_std = 1.0 / vae_->latents_std().to(at::kFloat).view({1, z, 1, 1, 1});
    std::optional<at::Tensor> image_tokens;
    at::Tensor condition;
    Conditioning conditioning = Conditioning::kNone;
    if (plan.image) {
      report("image_encode");
      stage.reset();
      const io::Image source =
          io::resize_cover_crop(io::read_image(*plan.image), plan.shape.width, plan.shape.height);
      if (image_encoder_) image_tokens = image_encoder_->encode(source);  // [1, 257, 1280]
      const at::Tensor pixels = image_to_tensor(source).unsqueeze(2);     // [1, 3, 1, H, W]
      at::Tensor video_condition = pixels;
      if (!plan_.expand_timesteps) {  // first frame + zero frames, really encoded (causal VAE)
        video_condition = at::cat(
            {pixels, at::zeros({1, 3, plan.shape.frames - 1, plan.shape.height, plan.shape.width})},
            2);
      }
      const at::Tensor latent = (vae_->encode(video_condition).to(at::kFloat) - mean) * inv_std;
      if (plan_.expand_timesteps) {
        conditioning = Conditioning::kFirstFrame;
        condition = latent;  // [1, z, 1, h, w]
      } else {
        conditioning = Conditioning::kConcat;
        at::Tensor mask = at::zeros({1, 4, T, h, w});  // latent frame 0 = the given pixel frame
        mask.select(2, 0).fill_(1.0);
        condition = at::cat({mask, latent}, 1);  // [1, 4 + z, T, h, w]
      }
      result.timings.image_encode = stage.seconds();
    }

    // 3. Noise: ATen's CPU generator draws what torch.Generator("cpu").manual_seed(seed) draws.
    auto generator = at::make_generator<at::CPUGeneratorImpl>(request.seed);
    const at::Tensor noise = at::randn({1, z, T, h, w}, generator, at::kFloat);  // [1, z, T, h, w]

    // 4. Denoise.
    auto scheduler = sampling::make_scheduler(request.sampler, plan_.scheduler, plan.shift);
    scheduler->set_timesteps(plan.steps);
    const auto dev = load_.device;
    auto repeat_batch = [&](const at::Tensor& t) { return plan.guided ? at::cat({t, t}) : t; };
    std::optional<at::Tensor> image_context;
    if (image_tokens) image_context = repeat_batch(*image_tokens).to(dev);
    high_->set_context(text.to(dev), image_context);
    if (low_) low_->set_context(text.to(dev), image_context);

    pipeline::DenoiseSetup setup;
    setup.noise = noise.to(dev);
    setup.conditioning = conditioning;
    if (condition.defined()) setup.condition = condition.to(dev);
    setup.high_noise = high_.get();
    setup.low_noise = low_.get();
    setup.boundary_timestep =
        plan_.boundary_ratio > 0 ? plan_.boundary_ratio * plan_.scheduler.num_train_timesteps : -1;
    setup.guidance_scale = plan.guidance_scale;
    setup.guidance_scale_2 = plan.guidance_scale_2;

    stage.reset();
    Stopwatch step_watch;
    engine::LatentDump dump(request.dump_latents_dir);
    dump.add_tensor("noise", noise);
    if (condition.defined()) dump.add_tensor("condition", condition);
    const int steps = plan.steps;
    report("denoise", 0, steps);
    const at::Tensor latents = pipeline::denoise(
        setup, *scheduler, [&](int i, double t, const at::Tensor& lat, const at::Tensor& pred) {
          // One reduction per step: a NaN or infinity never recovers, so stop at the step where
          // it appears instead of encoding a black video and reporting success.
          RAYVID_CHECK(at::isfinite(lat).all().item<bool>(), BadInput,
                       "denoising step {}/{} produced NaN or infinite values; likely a "
                       "checkpoint with NaN/inf weights (re-download it) or an fp16 overflow "
                       "(try --dtype bf16 or fp32)",
                       i + 1, plan.steps);
          synchronize(dev);  // so a step's time on CUDA is its work, not its launches
          result.step_seconds.push_back(step_watch.seconds());
          step_watch.reset();
          dump.add(i, t, lat, pred);
          double sum = 0;
          for (double s : result.step_seconds) sum += s;
          report("denoise", i + 1, steps, sum / result.step_seconds.size());
        });
    dump.finish(request, plan_.variant);
    result.timings.denoise = stage.seconds();

    // 5. Decode: un-normalise, decode, to 8-bit frames.
    report("vae_decode");
    stage.reset();
    const at::Tensor video =
        vae_->decode(latents.to(at::kFloat).cpu() / inv_std + mean);  // [1,3,F,H,W]
    dump.add_tensor("video", video);
    io::VideoFrames frames = models::wan_vae::to_frames(video.cpu());
    result.timings.vae_decode = stage.seconds();

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

  GenerateResult planned_result(const engine::RequestPlan& plan) const {
    GenerateResult result;
    result.variant = plan_.variant;
    result.width = plan.shape.width;
    result.height = plan.shape.height;
    result.frames = plan.shape.frames;
    result.fps = plan.shape.fps;
    result.steps = plan.steps;
    result.guidance_scale = plan.guidance_scale;
    result.guidance_scale_2 = plan.guidance_scale_2;
    result.shift = plan.shift;
    result.video_path = plan.output.string();
    result.sidecar_path = engine::sidecar_path(plan.output).string();
    result.estimated_peak_bytes = plan.estimated_peak_bytes;
    return result;
  }

  models::ModelFolder folder_;
  engine::ModelPlan plan_;
  engine::LoadOptions load_;
  double load_seconds_ = 0;
  bool loaded_ = false;
  std::unique_ptr<pipeline::TextEncoder> text_encoder_;
  std::unique_ptr<pipeline::ImageEncoder> image_encoder_;
  std::unique_ptr<pipeline::Denoiser> high_, low_;
  std::unique_ptr<pipeline::VideoAutoencoder> vae_;
};

}  // namespace

std::unique_ptr<Engine> Engine::open(const EngineOptions& options) {
  return std::make_unique<WanEngine>(options);
}

}  // namespace rayvid
