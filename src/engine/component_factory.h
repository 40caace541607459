// Binds the pipeline's component interfaces to the model implementations in src/models. One
// function per component; each reads the component folder of a diffusers model folder.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <memory>
#include <string>

#include "models/model_folder.h"
#include "models/wan_dit/weights.h"
#include "ops/kernel_backend.h"
#include "pipeline/components.h"
#include "rayvid/rayvid.h"

namespace rayvid::models::wan_dit {
class WanDiT;
}
namespace rayvid::models::wan_vae {
class WanVAE;
}

namespace rayvid::engine {

struct LoadOptions {
  c10::Device device = c10::Device(c10::kCPU);
  c10::ScalarType dtype = c10::kFloat;
  ops::KernelBackend kernels = ops::KernelBackend::kAten;  // resolved (never `auto`)
  models::wan_dit::WeightStorage weight_storage = models::wan_dit::WeightStorage::kCompute;
  bool stream_blocks = false;  // the DiT's blocks stream from host memory (memory profile low)
};

std::unique_ptr<pipeline::TextEncoder> load_text_encoder(const models::ModelFolder& folder,
                                                         const LoadOptions& options);
std::unique_ptr<pipeline::ImageEncoder> load_image_encoder(const models::ModelFolder& folder,
                                                           const LoadOptions& options);
// `component` is "transformer" or "transformer_2". `loras` are merged into its weights after
// loading (models/wan_dit/lora.h); what each did is appended to `applied` (expert = component).
std::unique_ptr<pipeline::Denoiser> load_denoiser(
    const models::ModelFolder& folder, const std::string& component, const LoadOptions& options,
    const std::vector<LoraOption>& loras = {}, bool lora_allow_unmatched = false,
    std::vector<GenerateResult::LoraApplied>* applied = nullptr);
std::unique_ptr<pipeline::VideoAutoencoder> load_vae(const models::ModelFolder& folder,
                                                     const LoadOptions& options);

// The same bindings for models built another way (random weights in `rayvid bench --arch`).
std::unique_ptr<pipeline::Denoiser> make_denoiser(models::wan_dit::WanDiT dit);
std::unique_ptr<pipeline::VideoAutoencoder> make_vae(models::wan_vae::WanVAE vae);

}  // namespace rayvid::engine
