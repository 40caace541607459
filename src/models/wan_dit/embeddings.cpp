// Wan DiT embeddings: see embeddings.h.
#include "models/wan_dit/embeddings.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/check.h"

namespace rayvid::models::wan_dit {

at::Tensor timestep_sinusoid(const at::Tensor& t, int64_t freq_dim) {
  // Same op sequence as diffusers' get_timestep_embedding, so the fp32 values are bit-identical.
  const int64_t half = freq_dim / 2;
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(t.device());
  const at::Tensor exponent = at::arange(0, half, f32) * (-std::log(10000.0)) / double(half);
  const at::Tensor angles =
      t.to(at::kFloat).unsqueeze(1) * at::exp(exponent).unsqueeze(0);  // [N, half]
  return at::cat({at::cos(angles), at::sin(angles)}, -1);              // [N, freq_dim]
}

TimeEmbedding embed_time(const at::Tensor& t, const WanDiTWeights& w, const WanDiTConfig& c,
                         const ComputeSettings& s) {
  const at::Tensor sinusoid = timestep_sinusoid(t, c.freq_dim);       // [N, freq] fp32
  at::Tensor h = at::silu(linear(sinusoid, w.time_linear_1, s));      // [N, dim] fp32
  const at::Tensor temb = linear(h, w.time_linear_2, s).to(s.dtype);  // [N, dim]
  const at::Tensor proj = linear(at::silu(temb), w.time_proj, s);     // [N, 6·dim]
  return {temb, proj.view({-1, 6, c.dim})};                           // [N, 6, dim]
}

at::Tensor embed_text(const at::Tensor& text, const WanDiTWeights& w, const ComputeSettings& s) {
  at::Tensor h = linear(text.to(s.dtype), w.text_linear_1, s);  // [B, Lt, dim]
  h = at::gelu(h, "tanh");                                      // [B, Lt, dim]
  return linear(h, w.text_linear_2, s);                         // [B, Lt, dim]
}

at::Tensor embed_image(const at::Tensor& image, const WanDiTWeights& w, const WanDiTConfig& c,
                       const ComputeSettings& s) {
  const ImageEmbedderWeights& e = w.image_embedder;
  at::Tensor x = image.to(s.dtype);  // [B, Li, image_dim]
  if (c.pos_embed_seq_len) {
    RAYVID_CHECK(x.size(0) * x.size(1) % *c.pos_embed_seq_len == 0, BadArgument,
                 "FLF2V image tokens: {} rows of {} tokens cannot form groups of {}", x.size(0),
                 x.size(1), *c.pos_embed_seq_len);
    x = x.reshape({-1, *c.pos_embed_seq_len, x.size(2)}) + e.pos_embed;  // [B, 514, image_dim]
  }
  at::Tensor h = layer_norm_fp32(x, e.norm1, 1e-5);  // [B, Li, image_dim]
  h = at::gelu(linear(h, e.ff_in, s));               // [B, Li, image_dim], exact GELU
  h = linear(h, e.ff_out, s);                        // [B, Li, dim]
  return layer_norm_fp32(h, e.norm2, 1e-5);          // [B, Li, dim]
}

at::Tensor patchify(const at::Tensor& latents, const std::array<int64_t, 3>& patch) {
  const int64_t b = latents.size(0), ch = latents.size(1);
  const int64_t f = latents.size(2) / patch[0], h = latents.size(3) / patch[1],
                w = latents.size(4) / patch[2];
  return latents.view({b, ch, f, patch[0], h, patch[1], w, patch[2]})
      .permute({0, 2, 4, 6, 1, 3, 5, 7})                              // [B, F, H, W, C, pt, ph, pw]
      .reshape({b, f * h * w, ch * patch[0] * patch[1] * patch[2]});  // [B, L, C·pt·ph·pw]
}

at::Tensor unpatchify(const at::Tensor& tokens, const std::array<int64_t, 3>& grid,
                      const std::array<int64_t, 3>& patch) {
  const int64_t b = tokens.size(0);
  const int64_t ch = tokens.size(2) / (patch[0] * patch[1] * patch[2]);
  return tokens.view({b, grid[0], grid[1], grid[2], patch[0], patch[1], patch[2], ch})
      .permute({0, 7, 1, 4, 2, 5, 3, 6})  // [B, C, F, pt, H, ph, W, pw]
      .reshape({b, ch, grid[0] * patch[0], grid[1] * patch[1], grid[2] * patch[2]});
}

}  // namespace rayvid::models::wan_dit
