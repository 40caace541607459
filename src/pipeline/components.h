// The model components a pipeline drives, as small interfaces. The pipeline layer knows what a
// text encoder, a denoiser and a VAE do, not how; adapters in src/engine bind them to the model
// implementations in src/models. This also lets pipeline logic be tested with stand-ins.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <vector>

#include "io/image.h"

namespace rayvid::pipeline {

class TextEncoder {
 public:
  virtual ~TextEncoder() = default;
  // Cleaned, tokenized and encoded prompts, rows beyond each prompt's length zeroed, exactly as
  // diffusers' _get_t5_prompt_embeds: [B, max_sequence_length, text_dim].
  virtual at::Tensor encode(const std::vector<std::string>& prompts, int max_sequence_length) = 0;
};

class ImageEncoder {
 public:
  virtual ~ImageEncoder() = default;
  // The penultimate CLIP hidden state of the preprocessed image: [1, tokens, image_dim].
  virtual at::Tensor encode(const io::Image& image) = 0;
};

// One diffusion transformer (one expert of a two-expert model).
class Denoiser {
 public:
  virtual ~Denoiser() = default;
  // Step-invariant conditioning, set once per generation: text [B, L_text, text_dim] and for
  // Wan2.1 I2V the image tokens [B, L_img, image_dim]. B is 2 with guidance ([cond; uncond]).
  virtual void set_context(const at::Tensor& text, const std::optional<at::Tensor>& image) = 0;
  // VACE: the control states [1, 96, frames, h, w] and the hints' scale, after set_context.
  virtual void set_control(const at::Tensor& control, double scale);
  // latents [B, C_in, T, H, W]; timestep [B] or per token [B, L] -> velocity [B, C_out, T, H, W].
  virtual at::Tensor forward(const at::Tensor& latents, const at::Tensor& timestep) = 0;

  // Step caching (pipeline/step_cache.h). kStore: run as forward() and keep what the transformer
  // blocks added; kReuse: skip the blocks and add what they added at the last kStore step;
  // kFirstBlock: diffusers' FirstBlockCache with `threshold`, decided per batch row inside the
  // forward (first_block_rows_ran() tells how it went).
  enum class BlockCaching { kStore, kReuse, kFirstBlock };
  virtual bool supports_block_caching() const { return false; }
  virtual at::Tensor forward_cached(const at::Tensor& latents, const at::Tensor& timestep,
                                    BlockCaching caching, double threshold = 0);
  virtual std::vector<bool> first_block_rows_ran() const { return {}; }
  // The timestep embedding TeaCache compares between steps: `e` [1, dim] or, projected, `e0`
  // [1, 6·dim], fp32.
  virtual at::Tensor time_embedding(double timestep, bool projected);
};

class VideoAutoencoder {
 public:
  virtual ~VideoAutoencoder() = default;
  // video [B, 3, F, H, W] in [-1, 1] -> the posterior mean [B, z, T, H/s, W/s] (not normalised).
  virtual at::Tensor encode(const at::Tensor& video) = 0;
  // latents (not normalised) -> video [B, 3, F, H, W], clamped to [-1, 1].
  virtual at::Tensor decode(const at::Tensor& latents) = 0;
  // The pipelines' latent normalisation (vae/config.json latents_mean/std), fp32 on the input's
  // device: normalize((mu - mean) / std) before denoising, denormalize before decoding.
  virtual at::Tensor normalize(const at::Tensor& mean_latent) const = 0;
  virtual at::Tensor denormalize(const at::Tensor& latent) const = 0;
  virtual int z_dim() const = 0;
  virtual int spatial_stride() const = 0;   // 8 (Wan2.1) or 16 (Wan2.2)
  virtual int temporal_stride() const = 0;  // 4
};

}  // namespace rayvid::pipeline
