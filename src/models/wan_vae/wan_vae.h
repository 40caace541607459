// WanVAE: the causal 3D VAE of Wan2.1 (z16, 4x8x8) and Wan2.2 (z48, 4x16x16) as the pipelines
// use it. Encode returns the posterior mean, decode the clamped video; both run chunked in time
// (1, 4, 4, ... pixel frames per chunk; one latent frame per chunk) with the causal feature cache,
// and optionally tiled in space, exactly as diffusers' AutoencoderKLWan does.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>

#include "io/video.h"
#include "models/wan_vae/config.h"
#include "models/wan_vae/decoder.h"
#include "models/wan_vae/encoder.h"
#include "models/wan_vae/tiling.h"
#include "models/weights.h"

namespace rayvid::models::wan_vae {

class WanVAE {
 public:
  // `dir`: a diffusers `vae/` folder (config.json + diffusion_pytorch_model.safetensors).
  static WanVAE load(const std::filesystem::path& dir, c10::Device device, c10::ScalarType dtype);
  // Builds from any weight source; strict (every tensor used, shapes exact). A ShapeOnlySource
  // builds the real architecture on the meta device.
  static WanVAE from_source(const WanVAEConfig& config, const WeightSource& source,
                            c10::Device device, c10::ScalarType dtype);

  const WanVAEConfig& config() const { return config_; }
  c10::ScalarType dtype() const { return dtype_; }
  c10::Device device() const { return device_; }
  // Every tensor name the model took, with its shape (architecture tests).
  const std::map<std::string, std::vector<int64_t>>& weight_shapes() const { return shapes_; }
  uint64_t parameter_bytes() const { return parameter_bytes_; }
  // Feature-cache bytes held at the end of the last untiled decode (memory-model tests).
  uint64_t last_decode_cache_bytes() const { return last_decode_cache_bytes_; }

  // video [B, 3, F, H, W] in [-1, 1], F = 1 + 4k -> posterior mean [B, z, 1 + k, H/s, W/s]
  // (not normalised; see normalize_latents).
  at::Tensor encode(const at::Tensor& video, const EncodeOptions& options = {}) const;
  // latent [B, z, T, h, w] -> video [B, 3, 1 + 4(T-1), h*s, w*s], clamped to [-1, 1].
  at::Tensor decode(const at::Tensor& latent, const DecodeOptions& options = {}) const;

  // The pipelines' normalisation with vae/config.json latents_mean/latents_std, computed as
  // diffusers writes it: encode side (mu - mean) * (1 / std), decode side z / (1 / std) + mean.
  at::Tensor normalize_latents(const at::Tensor& mean_latent) const;
  at::Tensor denormalize_latents(const at::Tensor& latent) const;

  // What encode/decode would do for this input size (after resolving kAuto).
  TilePlan plan_decode(const std::vector<int64_t>& latent_shape,
                       const DecodeOptions& options) const;
  TilePlan plan_encode(const std::vector<int64_t>& video_shape, const EncodeOptions& options) const;

 private:
  // `finalize`: unpatchify and clamp each chunk into the final video (no second full-size
  // buffer); otherwise return the raw patchified decoder output (tiles are blended raw).
  at::Tensor decode_untiled(const at::Tensor& latent, bool finalize) const;
  at::Tensor encode_untiled(const at::Tensor& patches) const;  // patchified video -> mean

  WanVAEConfig config_;
  c10::Device device_ = c10::kCPU;
  c10::ScalarType dtype_ = at::kFloat;
  Encoder3d encoder_;
  Decoder3d decoder_;
  CausalConv3d quant_conv_;       // 1x1x1, 2z -> 2z
  CausalConv3d post_quant_conv_;  // 1x1x1, z -> z
  std::map<std::string, std::vector<int64_t>> shapes_;
  uint64_t parameter_bytes_ = 0;
  mutable uint64_t last_decode_cache_bytes_ = 0;
};

// video [1, 3, F, H, W] in [-1, 1] -> uint8 RGB frames for the MP4 writer, as diffusers'
// postprocess_video + export_to_video: (x * 0.5 + 0.5).clamp(0, 1) in fp32, then * 255 truncated.
io::VideoFrames to_frames(const at::Tensor& video);

}  // namespace rayvid::models::wan_vae
