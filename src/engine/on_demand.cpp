// Components loaded on first use: see on_demand.h.
#include "engine/on_demand.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace rayvid::engine {

OnDemandDenoiser::OnDemandDenoiser(Loader load, std::shared_ptr<ExpertTurns> turns)
    : load_(std::move(load)), turns_(std::move(turns)) {
  if (turns_) turns_->members.push_back(this);
}

OnDemandDenoiser::~OnDemandDenoiser() {
  if (turns_) std::erase(turns_->members, this);
}

pipeline::Denoiser& OnDemandDenoiser::get() {
  if (loaded_) return *loaded_;
  if (turns_) {  // the other expert leaves before this one arrives
    for (OnDemandDenoiser* other : turns_->members)
      if (other != this) other->release();
  }
  loaded_ = load_();
  ++loads_;
  if (context_) loaded_->set_context(context_->first, context_->second);
  if (control_) loaded_->set_control(control_->first, control_->second);
  return *loaded_;
}

void OnDemandDenoiser::release() { loaded_.reset(); }

void OnDemandDenoiser::set_context(const at::Tensor& text, const std::optional<at::Tensor>& image) {
  context_.emplace(text, image);
  control_.reset();
  // A loaded expert takes it now; one that is not takes it when it loads.
  if (loaded_) loaded_->set_context(text, image);
}

void OnDemandDenoiser::set_control(const at::Tensor& control, double scale) {
  control_.emplace(control, scale);
  if (loaded_) loaded_->set_control(control, scale);
}

at::Tensor OnDemandDenoiser::forward(const at::Tensor& latents, const at::Tensor& timestep) {
  return get().forward(latents, timestep);
}

at::Tensor OnDemandDenoiser::forward_cached(const at::Tensor& latents, const at::Tensor& timestep,
                                            BlockCaching caching, double threshold) {
  return get().forward_cached(latents, timestep, caching, threshold);
}

std::vector<bool> OnDemandDenoiser::first_block_rows_ran() const {
  return loaded_ ? loaded_->first_block_rows_ran() : std::vector<bool>{};
}

at::Tensor OnDemandDenoiser::time_embedding(double timestep, bool projected) {
  return get().time_embedding(timestep, projected);
}

}  // namespace rayvid::engine
