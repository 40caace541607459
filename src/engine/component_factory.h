// Binds the pipeline's component interfaces to the model implementations in src/models. One
// function per component; each reads the component folder of a diffusers model folder.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <memory>
#include <string>

#include "models/model_folder.h"
#include "pipeline/components.h"

namespace rayvid::engine {

struct LoadOptions {
  c10::Device device = c10::Device(c10::kCPU);
  c10::ScalarType dtype = c10::kFloat;
  std::string attention = "sdpa";
};

std::unique_ptr<pipeline::TextEncoder> load_text_encoder(const models::ModelFolder& folder,
                                                         const LoadOptions& options);
std::unique_ptr<pipeline::ImageEncoder> load_image_encoder(const models::ModelFolder& folder,
                                                           const LoadOptions& options);
// `component` is "transformer" or "transformer_2".
std::unique_ptr<pipeline::Denoiser> load_denoiser(const models::ModelFolder& folder,
                                                  const std::string& component,
                                                  const LoadOptions& options);
std::unique_ptr<pipeline::VideoAutoencoder> load_vae(const models::ModelFolder& folder,
                                                     const LoadOptions& options);

}  // namespace rayvid::engine
