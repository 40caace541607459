// CLIP vision tower forward: see vision_encoder.h. Mirrors transformers 5.x modeling_clip.py.
#include "models/clip/vision_encoder.h"

#include <ATen/ATen.h>

#include <cmath>

#include <fmt/ranges.h>

#include "core/check.h"

namespace rayvid::models::clip {
namespace {

CLIPLinear take_linear(WeightLoader& loader, const std::string& prefix, int64_t out, int64_t in) {
  return {loader.take(prefix + ".weight", {out, in}), loader.take(prefix + ".bias", {out})};
}

CLIPLinear take_norm(WeightLoader& loader, const std::string& prefix, int64_t dim) {
  return {loader.take(prefix + ".weight", {dim}), loader.take(prefix + ".bias", {dim})};
}

at::Tensor linear(const at::Tensor& x, const CLIPLinear& l) {
  return at::linear(x, l.weight, l.bias);
}

at::Tensor layer_norm(const at::Tensor& x, const CLIPLinear& n, double eps) {
  return at::layer_norm(x, {x.size(-1)}, n.weight, n.bias, eps);
}

}  // namespace

CLIPVisionWeights CLIPVisionWeights::load(WeightLoader& loader, const CLIPVisionConfig& c) {
  const int64_t D = c.hidden_size;
  const std::string vm = "vision_model.";
  CLIPVisionWeights w;
  w.class_embedding = loader.take(vm + "embeddings.class_embedding", {D});
  w.patch_embedding = loader.take(vm + "embeddings.patch_embedding.weight",
                                  {D, c.num_channels, c.patch_size, c.patch_size});
  w.position_embedding =
      loader.take(vm + "embeddings.position_embedding.weight", {c.num_positions(), D});
  // Older exports saved the position_ids buffer; it is arange(num_positions), so only check it.
  if (loader.has(vm + "embeddings.position_ids")) {
    loader.take(vm + "embeddings.position_ids", {1, c.num_positions()});
  }
  w.pre_norm = take_norm(loader, vm + "pre_layrnorm", D);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = fmt::format("{}encoder.layers.{}.", vm, i);
    CLIPLayer l;
    l.norm1 = take_norm(loader, p + "layer_norm1", D);
    l.q = take_linear(loader, p + "self_attn.q_proj", D, D);
    l.k = take_linear(loader, p + "self_attn.k_proj", D, D);
    l.v = take_linear(loader, p + "self_attn.v_proj", D, D);
    l.out = take_linear(loader, p + "self_attn.out_proj", D, D);
    l.norm2 = take_norm(loader, p + "layer_norm2", D);
    l.fc1 = take_linear(loader, p + "mlp.fc1", c.intermediate_size, D);
    l.fc2 = take_linear(loader, p + "mlp.fc2", D, c.intermediate_size);
    w.layers.push_back(std::move(l));
  }
  w.unused.push_back(take_norm(loader, vm + "post_layernorm", D));
  if (c.has_projection) {
    w.unused.push_back({loader.take("visual_projection.weight", {c.projection_dim, D}), {}});
  }
  return w;
}

CLIPVisionEncoder::CLIPVisionEncoder(CLIPVisionConfig config, CLIPVisionWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {
  // Only hidden_states[-2] is ever used: free the last block and the head.
  weights_.layers.pop_back();
  weights_.unused.clear();
}

at::Tensor CLIPVisionEncoder::penultimate_hidden_state(const at::Tensor& pixel_values) const {
  const auto& c = config_;
  RAYVID_CHECK(pixel_values.dim() == 4 && pixel_values.size(1) == c.num_channels &&
                   pixel_values.size(2) == c.image_size && pixel_values.size(3) == c.image_size,
               BadArgument, "CLIP expects pixel_values [B, {}, {}, {}], got [{}]", c.num_channels,
               c.image_size, c.image_size, fmt::join(pixel_values.sizes(), ", "));
  const int64_t B = pixel_values.size(0);
  const int64_t D = c.hidden_size;
  const int64_t H = c.num_attention_heads;
  const int64_t Dh = c.head_dim();
  const auto x_in = pixel_values.to(device(), dtype());  // [B, C, S, S]
  auto patches = at::conv2d(x_in, weights_.patch_embedding, {}, {c.patch_size, c.patch_size});
  //                                                      [B, D, S/P, S/P]
  patches = patches.flatten(2).transpose(1, 2);                           // [B, N, D]
  auto cls = weights_.class_embedding.view({1, 1, D}).expand({B, 1, D});  // [B, 1, D]
  auto x = at::cat({cls, patches}, 1);                                    // [B, N+1, D]
  x = x + weights_.position_embedding.unsqueeze(0);                       // [B, N+1, D]
  x = layer_norm(x, weights_.pre_norm, c.layer_norm_eps);                 // [B, N+1, D]
  const int64_t T = x.size(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  for (const auto& l : weights_.layers) {  // num_hidden_layers - 1 blocks: hidden_states[-2]
    auto h = layer_norm(x, l.norm1, c.layer_norm_eps);                             // [B, T, D]
    auto q = linear(h, l.q).view({B, T, H, Dh}).transpose(1, 2);                   // [B, H, T, Dh]
    auto k = linear(h, l.k).view({B, T, H, Dh}).transpose(1, 2);                   // [B, H, T, Dh]
    auto v = linear(h, l.v).view({B, T, H, Dh}).transpose(1, 2);                   // [B, H, T, Dh]
    auto attn = at::scaled_dot_product_attention(q, k, v, {}, 0.0, false, scale);  // [B, H, T, Dh]
    attn = attn.transpose(1, 2).reshape({B, T, D});                                // [B, T, D]
    x = x + linear(attn, l.out);                                                   // [B, T, D]
    h = layer_norm(x, l.norm2, c.layer_norm_eps);                                  // [B, T, D]
    h = linear(h, l.fc1);                                                          // [B, T, I]
    h = c.act == ClipAct::kGelu ? at::gelu(h) : h * at::sigmoid(1.702 * h);        // [B, T, I]
    x = x + linear(h, l.fc2);                                                      // [B, T, D]
  }
  return x;  // [B, N+1, D]
}

}  // namespace rayvid::models::clip
