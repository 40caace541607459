// Component loaders until the model implementations are bound (the DiT and the VAE land on their
// own branches). Each says plainly what is missing.
#include "core/check.h"
#include "engine/component_factory.h"

namespace rayvid::engine {

std::unique_ptr<pipeline::Denoiser> load_denoiser(const models::ModelFolder&, const std::string&,
                                                  const LoadOptions&) {
  fail(ErrorCategory::kUnsupported, "the Wan diffusion transformer is not built into this rayvid yet");
}
std::unique_ptr<pipeline::VideoAutoencoder> load_vae(const models::ModelFolder&, const LoadOptions&) {
  fail(ErrorCategory::kUnsupported, "the Wan VAE is not built into this rayvid yet");
}

}  // namespace rayvid::engine
