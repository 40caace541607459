// Binds the Wan diffusion transformer and the Wan VAE (src/models) to the pipeline's Denoiser and
// VideoAutoencoder interfaces.
#include <ATen/ATen.h>

#include "engine/component_factory.h"
#include "models/wan_dit/lora.h"
#include "models/wan_dit/model.h"
#include "models/wan_dit/single_file.h"
#include "models/wan_vae/single_file.h"
#include "models/wan_vae/wan_vae.h"
#include "ops/kernel_backend.h"

namespace rayvid::engine {
namespace {

class WanDenoiser : public pipeline::Denoiser {
 public:
  explicit WanDenoiser(models::wan_dit::WanDiT dit) : dit_(std::move(dit)) {}
  void set_context(const at::Tensor& text, const std::optional<at::Tensor>& image) override {
    // The prompt's K/V for every block, computed once and reused by every step.
    context_ = dit_.prepare_context(text, image ? *image : at::Tensor());
    blocks_ = {};  // a new generation: no residual to reuse
    cond_context_ = {};
  }
  void set_control(const at::Tensor& control, double scale) override {
    dit_.set_control(context_, control, scale);
    cond_context_ = {};
  }
  at::Tensor forward(const at::Tensor& latents, const at::Tensor& timestep) override {
    const auto dtype = dit_.options().dtype;
    // A guided context serves a batch-1 step too (guidance dropped): its cond rows.
    if (latents.size(0) < context_.batch) {
      if (cond_context_.batch != latents.size(0))
        cond_context_ = models::wan_dit::first_rows(context_, latents.size(0));
      return dit_.forward(latents.to(dtype), timestep, cond_context_);
    }
    return dit_.forward(latents.to(dtype), timestep, context_);  // [B, C_out, T, H, W]
  }
  bool supports_block_caching() const override { return true; }
  at::Tensor forward_cached(const at::Tensor& latents, const at::Tensor& timestep,
                            BlockCaching caching, double threshold) override {
    blocks_.reuse = caching == BlockCaching::kReuse;
    blocks_.first_block_threshold = caching == BlockCaching::kFirstBlock ? threshold : 0.0;
    return dit_.forward(latents.to(dit_.options().dtype), timestep, context_, &blocks_);
  }
  std::vector<bool> first_block_rows_ran() const override { return blocks_.rows_ran; }
  at::Tensor time_embedding(double timestep, bool projected) override {
    return dit_.time_embedding(timestep, projected);
  }

 private:
  models::wan_dit::WanDiT dit_;
  models::wan_dit::ContextCache context_;
  models::wan_dit::ContextCache cond_context_;  // context_'s first rows, when a step drops guidance
  models::wan_dit::BlockResidualCache blocks_;  // step caching's residual (one generation's)
};

class WanAutoencoder : public pipeline::VideoAutoencoder {
 public:
  explicit WanAutoencoder(models::wan_vae::WanVAE vae) : vae_(std::move(vae)) {}
  at::Tensor encode(const at::Tensor& video) override {
    return vae_.encode(video.to(vae_.device(), vae_.dtype()));
  }
  at::Tensor decode(const at::Tensor& latents) override {
    return vae_.decode(latents.to(vae_.device(), vae_.dtype()));
  }
  at::Tensor normalize(const at::Tensor& mean_latent) const override {
    return vae_.normalize_latents(mean_latent.to(at::kFloat));
  }
  at::Tensor denormalize(const at::Tensor& latent) const override {
    return vae_.denormalize_latents(latent.to(at::kFloat));
  }
  int z_dim() const override { return static_cast<int>(vae_.config().z_dim); }
  int spatial_stride() const override {
    return static_cast<int>(vae_.config().scale_factor_spatial);
  }
  int temporal_stride() const override {
    return static_cast<int>(vae_.config().scale_factor_temporal);
  }

 private:
  models::wan_vae::WanVAE vae_;
};

}  // namespace

std::unique_ptr<pipeline::Denoiser> load_denoiser(
    const models::ModelFolder& folder, const std::string& component, const LoadOptions& options,
    const std::vector<LoraOption>& loras, bool lora_allow_unmatched,
    std::vector<GenerateResult::LoraApplied>* applied) {
  models::wan_dit::WanDiTOptions dit_options;
  dit_options.device = options.device;
  dit_options.dtype = options.dtype;
  dit_options.kernels = options.kernels;
  dit_options.weight_storage = options.weight_storage;
  dit_options.stream_blocks = options.stream_blocks;
  const models::ComponentEntry& entry = folder.require(component);
  auto dit = entry.file.empty() ? models::wan_dit::WanDiT::load(entry.dir, dit_options) : [&] {
    const auto file = models::wan_dit::open_dit_file(entry.file);  // --model FILE
    return models::wan_dit::WanDiT(file.config, file.source, dit_options);
  }();
  if (!loras.empty()) {
    std::vector<models::wan_dit::LoraSpec> specs;
    for (const LoraOption& l : loras) specs.push_back({l.path, l.strength});
    const auto merge = models::wan_dit::LoraMerge::apply(dit, specs, lora_allow_unmatched);
    for (const auto& r : merge.reports()) {
      if (applied)
        applied->push_back(
            {component, r.path, r.format, r.strength, r.tensors_changed, r.unmatched, r.skipped});
    }
  }
  return make_denoiser(std::move(dit));
}

std::unique_ptr<pipeline::VideoAutoencoder> load_vae(const models::ModelFolder& folder,
                                                     const LoadOptions& options) {
  // The VAE runs in fp32 on the CPU (diffusers keeps the Wan VAE in fp32 in its examples);
  // bf16 on CUDA.
  const auto dtype = options.device.is_cuda() ? options.dtype : c10::kFloat;
  const auto& entry = folder.require("vae");
  if (!entry.file.empty()) {  // --vae FILE
    const auto file = models::wan_vae::VAEFile::open(entry.file);
    return make_vae(
        models::wan_vae::WanVAE::from_source(file.config(), file, options.device, dtype));
  }
  return make_vae(models::wan_vae::WanVAE::load(entry.dir, options.device, dtype));
}

std::unique_ptr<pipeline::Denoiser> make_denoiser(models::wan_dit::WanDiT dit) {
  return std::make_unique<WanDenoiser>(std::move(dit));
}

std::unique_ptr<pipeline::VideoAutoencoder> make_vae(models::wan_vae::WanVAE vae) {
  return std::make_unique<WanAutoencoder>(std::move(vae));
}

}  // namespace rayvid::engine
