// Provenance of a generated video (MP4 "comment" tag and the JSON sidecar), and the research hook
// that dumps every step's latent and prediction.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/request_plan.h"
#include "rayvid/rayvid.h"

namespace rayvid::engine {

// video.mp4 -> video.json
std::filesystem::path sidecar_path(const std::filesystem::path& video);

// prompt, negative prompt, seed, model, variant, sampler, steps, guidance, shift, size, frames,
// fps, timings per stage, rayvid version.
nlohmann::json provenance_json(const GenerateRequest& request, const RequestPlan& plan,
                               const GenerateResult& result);

// --dump-latents DIR: step_NNN.safetensors with "latents" and "prediction" (float32),
// noise.safetensors, condition.safetensors (image-to-video), video.safetensors (the decoded video
// [1, 3, F, H, W] in [-1, 1]) and manifest.json listing steps and timesteps. Inactive when the
// folder name is empty.
class LatentDump {
 public:
  explicit LatentDump(std::string dir);
  void add(int step, double timestep, const at::Tensor& latents, const at::Tensor& prediction);
  // Any other named tensor of the run (initial noise, conditioning, the decoded video) as
  // <name>.safetensors holding one tensor called <name>.
  void add_tensor(const std::string& name, const at::Tensor& tensor);
  void finish(const GenerateRequest& request, const std::string& variant,
              const std::string& sampler);

 private:
  std::filesystem::path dir_;
  nlohmann::json steps_ = nlohmann::json::array();
};

// Writes tensors as a safetensors file (float32 / int64 / uint8), atomically.
void write_safetensors(const std::filesystem::path& path,
                       const std::map<std::string, at::Tensor>& tensors);

}  // namespace rayvid::engine
