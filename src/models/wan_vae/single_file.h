// The Wan VAE in one safetensors file, as ComfyUI ships them (split_files/vae/wan_2.1_vae and
// wan2.2_vae.safetensors) and the original releases have them: the original module names
// (Wan2.1: flat `encoder.downsamples.N`, `decoder.upsamples.N`; Wan2.2: per stage
// `encoder.downsamples.N.downsamples.M`, `decoder.upsamples.N.upsamples.M`; both `middle`,
// `head`, top-level `conv1`/`conv2`), translated to diffusers' AutoencoderKLWan names here, or
// diffusers' names as they are. The config comes from the shapes (WanVAEConfig::detect).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "models/checkpoint_source.h"
#include "models/wan_vae/config.h"

namespace rayvid::models::wan_vae {

// The diffusers name of an original Wan2.1 or Wan2.2 VAE tensor name, given the decoder's resnets
// per stage (num_res_blocks + 1; only Wan2.1's flat decoder list needs it), or nullopt for names
// outside the original layouts.
std::optional<std::string> wan_vae_original_to_diffusers(const std::string& name,
                                                         int64_t decoder_resnets);

// A VAE file presented with diffusers names.
class VAEFile : public WeightSource {
 public:
  static VAEFile open(const std::filesystem::path& file);

  std::vector<std::string> names() const override;
  std::optional<std::vector<int64_t>> shape(const std::string& name) const override;
  at::Tensor load(const std::string& name) const override;
  std::string label() const override { return source_.label(); }

  const WanVAEConfig& config() const { return config_; }
  const CheckpointSource& checkpoint() const { return source_; }
  bool original_layout() const { return original_; }

 private:
  VAEFile(CheckpointSource source) : source_(std::move(source)) {}
  CheckpointSource source_;
  std::map<std::string, std::string> stored_;  // diffusers name -> the file's name
  WanVAEConfig config_;
  bool original_ = false;
};

}  // namespace rayvid::models::wan_vae
