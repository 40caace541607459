// Components that load when first used and can be released between uses: what the memory
// profiles (engine/memory_profile.h) need, with the pipeline unaware of memory. Each wraps a
// loader; release() drops the loaded component (its memory goes back to the allocator) and the
// next use loads it again.
//
// A denoiser that is not loaded keeps the conditioning it was given (set_context, set_control)
// and applies it when it loads, so two A14B experts can take turns: an ExpertTurns shared by the
// two releases one before the other loads, and they are never resident together.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/components.h"

namespace rayvid::engine {

// What every holder shares: a loader, the loaded component or none.
template <class Component>
class OnDemand {
 public:
  using Loader = std::function<std::unique_ptr<Component>()>;
  explicit OnDemand(Loader load) : load_(std::move(load)) {}
  void ensure_loaded() const {
    if (!loaded_) loaded_ = load_();
  }
  void release() { loaded_.reset(); }
  bool loaded() const { return loaded_ != nullptr; }

 protected:
  Component& get() const {
    ensure_loaded();
    return *loaded_;
  }

 private:
  Loader load_;
  mutable std::unique_ptr<Component> loaded_;
};

class OnDemandTextEncoder : public pipeline::TextEncoder, public OnDemand<pipeline::TextEncoder> {
 public:
  using OnDemand::OnDemand;
  at::Tensor encode(const std::vector<std::string>& prompts, int max_sequence_length) override {
    return get().encode(prompts, max_sequence_length);
  }
};

class OnDemandImageEncoder : public pipeline::ImageEncoder,
                             public OnDemand<pipeline::ImageEncoder> {
 public:
  using OnDemand::OnDemand;
  at::Tensor encode(const io::Image& image) override { return get().encode(image); }
};

// The VAE's shape facts (z_dim, strides) come from its config, so asking them loads nothing.
class OnDemandAutoencoder : public pipeline::VideoAutoencoder,
                            public OnDemand<pipeline::VideoAutoencoder> {
 public:
  OnDemandAutoencoder(Loader load, int z_dim, int spatial_stride, int temporal_stride)
      : OnDemand(std::move(load)),
        z_dim_(z_dim),
        spatial_(spatial_stride),
        temporal_(temporal_stride) {}
  at::Tensor encode(const at::Tensor& video) override { return get().encode(video); }
  at::Tensor decode(const at::Tensor& latents) override { return get().decode(latents); }
  at::Tensor normalize(const at::Tensor& mean_latent) const override {
    return get().normalize(mean_latent);
  }
  at::Tensor denormalize(const at::Tensor& latent) const override {
    return get().denormalize(latent);
  }
  int z_dim() const override { return z_dim_; }
  int spatial_stride() const override { return spatial_; }
  int temporal_stride() const override { return temporal_; }

 private:
  int z_dim_, spatial_, temporal_;
};

class OnDemandDenoiser;

// Two experts that take turns: loading one releases the other.
struct ExpertTurns {
  std::vector<OnDemandDenoiser*> members;
};

class OnDemandDenoiser : public pipeline::Denoiser {
 public:
  using Loader = std::function<std::unique_ptr<pipeline::Denoiser>()>;
  // `turns`: shared with the other expert when they must not be resident together.
  OnDemandDenoiser(Loader load, std::shared_ptr<ExpertTurns> turns = nullptr);
  ~OnDemandDenoiser() override;

  void set_context(const at::Tensor& text, const std::optional<at::Tensor>& image) override;
  void set_control(const at::Tensor& control, double scale) override;
  at::Tensor forward(const at::Tensor& latents, const at::Tensor& timestep) override;
  bool supports_block_caching() const override { return true; }
  at::Tensor forward_cached(const at::Tensor& latents, const at::Tensor& timestep,
                            BlockCaching caching, double threshold) override;
  std::vector<bool> first_block_rows_ran() const override;
  at::Tensor time_embedding(double timestep, bool projected) override;

  void ensure_loaded() { (void)get(); }
  void release();
  bool loaded() const { return loaded_ != nullptr; }
  int loads() const { return loads_; }  // how many times it loaded (for tests and logs)

 private:
  pipeline::Denoiser& get();
  Loader load_;
  std::shared_ptr<ExpertTurns> turns_;
  std::unique_ptr<pipeline::Denoiser> loaded_;
  int loads_ = 0;
  // The conditioning of the current generation, applied again after a reload.
  std::optional<std::pair<at::Tensor, std::optional<at::Tensor>>> context_;
  std::optional<std::pair<at::Tensor, double>> control_;
};

}  // namespace rayvid::engine
