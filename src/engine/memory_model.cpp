// The memory model: see memory_model.h.
#include "engine/memory_model.h"

#include <c10/core/ScalarType.h>

#include <algorithm>

#include "models/wan_vae/memory_model.h"

namespace rayvid::engine {

double dit_activation_bytes(int64_t dim, int64_t ffn, double tokens, double batch,
                            double dtype_bytes, int64_t ffn_chunk_rows) {
  const double rows = batch * tokens;
  const double d = static_cast<double>(dim), f = static_cast<double>(ffn);
  // Self-attention is the widest point: the residual x, the modulated input h, q and k (RoPE'd),
  // v, the attention output, and one transient (a projection before its norm) -> 7 x d.
  const double attention = rows * 7 * d * dtype_bytes;
  // The FFN: x, h, the result rows and, per chunk, the hidden state and its activation.
  const double chunk =
      ffn_chunk_rows > 0 ? std::min(rows, static_cast<double>(ffn_chunk_rows)) : rows;
  const double feed_forward = rows * 3 * d * dtype_bytes + chunk * 2 * f * dtype_bytes;
  return std::max(attention, feed_forward);
}

MemoryEstimate estimate_memory(const ModelMemoryFacts& m, const pipeline::VideoShape& shape,
                               const MemorySettings& s) {
  MemoryEstimate e;
  const double db = static_cast<double>(s.dtype_bytes);
  const double fp8_saving = s.fp8_storage ? db - 1 : 0.0;
  e.dit_weights = m.dit_parameters * db - m.dit_fp8_storable * fp8_saving;
  e.text_encoder = m.text_encoder_parameters * db;
  e.image_encoder = m.image_encoder_parameters * db;

  // The VAE's own model: the decode untiled, or in diffusers' 256-pixel tiles when that is
  // smaller (Tiling::kAuto tiles when the untiled pass would not fit).
  const c10::ScalarType vae_dtype = s.dtype_bytes == 2 ? c10::kBFloat16 : c10::kFloat;
  const int64_t sv = m.vae.scale_factor_spatial, tv = m.vae.scale_factor_temporal;
  const int64_t latent_frames = (shape.frames - 1) / tv + 1;
  const auto untiled = models::wan_vae::estimate_decode_memory(
      m.vae, 1, latent_frames, shape.height / sv, shape.width / sv, vae_dtype, {});
  const models::wan_vae::TilePlan tiles{true, 256, 256, 192, 192};
  const auto tiled = models::wan_vae::estimate_decode_memory(
      m.vae, 1, latent_frames, shape.height / sv, shape.width / sv, vae_dtype, tiles);
  // The VAE's parameters as counted from its checkpoint, else from its config.
  e.vae_weights =
      m.vae_parameters > 0 ? m.vae_parameters * db : static_cast<double>(untiled.weights);
  e.vae_decode = static_cast<double>(std::min(untiled.total(), tiled.total()) - untiled.weights);

  const double batch = s.guided ? 2 : 1;
  const double tokens = static_cast<double>(latent_frames) *
                        static_cast<double>(shape.height / m.token_stride) *
                        static_cast<double>(shape.width / m.token_stride);
  e.dit_activations =
      dit_activation_bytes(m.dit_dim, m.dit_ffn, tokens, batch, db, s.ffn_chunk_rows);
  e.context_cache = static_cast<double>(m.dit_layers) * 2 * batch *
                    static_cast<double>(m.text_tokens + m.image_tokens) *
                    static_cast<double>(m.dit_dim) * db;

  // What stays resident, and what each stage adds on top.
  const double layers = std::max<double>(1, static_cast<double>(m.dit_layers));
  const double block = (m.dit_fp8_storable * (db - fp8_saving)) / layers;
  double text_stage = 0, image_stage = 0, decode_stage = 0;
  switch (s.profile) {
    case MemoryProfile::kMax:
      e.resident_weights =
          m.experts * e.dit_weights + e.text_encoder + e.image_encoder + e.vae_weights;
      break;
    case MemoryProfile::kBalanced:
      e.resident_weights = m.experts * e.dit_weights;
      text_stage = e.text_encoder, image_stage = e.image_encoder + e.vae_weights;
      decode_stage = e.vae_weights;
      break;
    case MemoryProfile::kLow:
      // One expert's embeddings and head, and two blocks in flight; the rest stream.
      e.resident_weights = e.dit_weights - std::max(0.0, layers - 2) * block;
      e.streamed_blocks = layers * block;
      text_stage = e.text_encoder, image_stage = e.image_encoder + e.vae_weights;
      decode_stage = e.vae_weights;
      break;
  }
  // A pipeline step's latents in fp32 (noise, latents, prediction, the sampler's history).
  const double latents = 8.0 * static_cast<double>(m.vae.z_dim) * latent_frames *
                         static_cast<double>(shape.height / sv) * (shape.width / sv) * 4;
  const struct {
    const char* name;
    double bytes;
  } stages[] = {
      {"text encode", text_stage},
      {"image encode", image_stage},
      {"denoise", e.dit_activations + e.context_cache + latents},
      {"decode", decode_stage + e.vae_decode},
  };
  double widest = 0;
  for (const auto& stage : stages) {
    if (stage.bytes > widest) widest = stage.bytes, e.peak_stage = stage.name;
  }
  // 5 % for the allocator's rounding and fragmentation.
  e.device_peak = (e.resident_weights + widest) * 1.05;
  const double video = 4.0 * shape.frames * static_cast<double>(shape.width) * shape.height;
  e.host_peak = s.gpu ? kGpuRuntimeHostBytes + e.streamed_blocks + video : e.device_peak;
  return e;
}

}  // namespace rayvid::engine
