// umT5 encoder forward: see encoder.h. Mirrors transformers 5.x modeling_umt5.py in inference.
#include "models/umt5/encoder.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include <fmt/ranges.h>

#include "core/check.h"

namespace rayvid::models::umt5 {
namespace {

// UMT5LayerNorm: RMS statistics in fp32; the normalised activations go back to the weight's
// dtype before the scale when that is half precision (as transformers does).
at::Tensor t5_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  const auto variance = x.to(at::kFloat).pow(2).mean({-1}, /*keepdim=*/true);  // [B, L, 1] fp32
  auto normed = x * at::rsqrt(variance + eps);                                 // [B, L, D] fp32
  if (weight.scalar_type() != at::kFloat) normed = normed.to(weight.scalar_type());
  return weight * normed;  // [B, L, D]
}

at::Tensor activation(const at::Tensor& x, FeedForwardAct act) {
  switch (act) {
    case FeedForwardAct::kGeluTanh:
      return at::gelu(x, "tanh");  // transformers gelu_new
    case FeedForwardAct::kGeluExact:
      return at::gelu(x);
    case FeedForwardAct::kRelu:
      return at::relu(x);
    case FeedForwardAct::kSilu:
      return at::silu(x);
  }
  return x;
}

}  // namespace

UMT5Weights UMT5Weights::load(WeightLoader& loader, const UMT5Config& c) {
  UMT5Weights w;
  const std::vector<int64_t> emb_shape{c.vocab_size, c.d_model};
  const bool has_shared = loader.has("shared.weight");
  const bool has_embed = loader.has("encoder.embed_tokens.weight");
  // Tied weights: safetensors writers keep one or both names; take whichever exist so that none
  // is reported unexpected, and use shared.weight when present (as transformers ties them).
  if (has_embed) w.embedding = loader.take("encoder.embed_tokens.weight", emb_shape);
  if (has_shared || !has_embed) w.embedding = loader.take("shared.weight", emb_shape);
  const int64_t inner = c.inner_dim();
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = fmt::format("encoder.block.{}.layer.", i);
    UMT5Layer l;
    l.attn_norm = loader.take(p + "0.layer_norm.weight", {c.d_model});
    l.q = loader.take(p + "0.SelfAttention.q.weight", {inner, c.d_model});
    l.k = loader.take(p + "0.SelfAttention.k.weight", {inner, c.d_model});
    l.v = loader.take(p + "0.SelfAttention.v.weight", {inner, c.d_model});
    l.o = loader.take(p + "0.SelfAttention.o.weight", {c.d_model, inner});
    l.relative_bias = loader.take(p + "0.SelfAttention.relative_attention_bias.weight",
                                  {c.relative_attention_num_buckets, c.num_heads});
    l.ffn_norm = loader.take(p + "1.layer_norm.weight", {c.d_model});
    if (c.gated) {
      l.wi_0 = loader.take(p + "1.DenseReluDense.wi_0.weight", {c.d_ff, c.d_model});
      l.wi_1 = loader.take(p + "1.DenseReluDense.wi_1.weight", {c.d_ff, c.d_model});
    } else {
      l.wi_0 = loader.take(p + "1.DenseReluDense.wi.weight", {c.d_ff, c.d_model});
    }
    l.wo = loader.take(p + "1.DenseReluDense.wo.weight", {c.d_model, c.d_ff});
    w.layers.push_back(std::move(l));
  }
  w.final_norm = loader.take("encoder.final_layer_norm.weight", {c.d_model});
  return w;
}

at::Tensor relative_position_buckets(int64_t length, int64_t num_buckets, int64_t max_distance,
                                     c10::Device device) {
  const auto opts = at::TensorOptions().dtype(at::kLong).device(device);
  const auto context = at::arange(length, opts).unsqueeze(1);  // [L, 1]
  const auto memory = at::arange(length, opts).unsqueeze(0);   // [1, L]
  auto relative = memory - context;                            // [L, L] key - query
  const int64_t half = num_buckets / 2;                        // per direction (bidirectional)
  auto buckets = (relative > 0).to(at::kLong) * half;          // [L, L]
  relative = relative.abs();
  const int64_t max_exact = half / 2;
  const auto is_small = relative < max_exact;  // [L, L]
  // float32 like the reference: the truncation below is sensitive to the log's rounding.
  auto log_ratio = at::log(relative.to(at::kFloat) / static_cast<double>(max_exact)) /
                   std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact));
  log_ratio = log_ratio * static_cast<double>(half - max_exact);                 // [L, L] fp32
  auto if_large = at::clamp_max(log_ratio.to(at::kLong) + max_exact, half - 1);  // [L, L]
  return buckets + at::where(is_small, relative, if_large);                      // [L, L]
}

UMT5Encoder::UMT5Encoder(UMT5Config config, UMT5Weights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {}

at::Tensor UMT5Encoder::forward(const at::Tensor& ids, const at::Tensor& mask) const {
  const auto& c = config_;
  RAYVID_CHECK(ids.dim() == 2 && mask.sizes() == ids.sizes(), BadArgument,
               "umT5 encoder expects ids and mask of shape [B, L], got [{}] and [{}]",
               fmt::join(ids.sizes(), ", "), fmt::join(mask.sizes(), ", "));
  const int64_t B = ids.size(0);
  const int64_t L = ids.size(1);
  const auto dtype = this->dtype();
  const auto device = this->device();
  // Checked where the tokenizer made them (the CPU): no device round trip, and a device that
  // holds no values (meta, in the placement tests) runs the same code.
  const auto ids_host = ids.to(at::kCPU, at::kLong);
  RAYVID_CHECK(ids_host.numel() == 0 || (ids_host.min().item<int64_t>() >= 0 &&
                                         ids_host.max().item<int64_t>() < c.vocab_size),
               BadArgument, "token ids must lie in [0, {}) (vocab_size)", c.vocab_size);
  const auto ids_dev = ids_host.to(device);

  auto x = at::embedding(weights_.embedding, ids_dev);  // [B, L, D]
  // Key padding mask: padded keys get the dtype's lowest value instead of the position bias, as
  // transformers' SDPA path builds it (where(mask, position_bias, finfo.min)).
  const auto key_valid = (mask.to(device, at::kLong) != 0).view({B, 1, 1, L});  // [B, 1, 1, L]
  const auto lowest = at::scalar_tensor(
      dtype == at::kBFloat16 ? -3.3895313892515355e38 : std::numeric_limits<float>::lowest(),
      at::TensorOptions().dtype(dtype).device(device));
  const auto buckets = relative_position_buckets(
      L, c.relative_attention_num_buckets, c.relative_attention_max_distance, device);  // [L, L]
  const int64_t H = c.num_heads;
  const int64_t Dh = c.d_kv;
  for (const auto& layer : weights_.layers) {
    // --- self-attention (pre-norm) ---
    auto h = t5_rms_norm(x, layer.attn_norm, c.layer_norm_epsilon);       // [B, L, D]
    auto q = at::linear(h, layer.q).view({B, L, H, Dh}).transpose(1, 2);  // [B, H, L, Dh]
    auto k = at::linear(h, layer.k).view({B, L, H, Dh}).transpose(1, 2);  // [B, H, L, Dh]
    auto v = at::linear(h, layer.v).view({B, L, H, Dh}).transpose(1, 2);  // [B, H, L, Dh]
    // This layer's own relative-position table (umT5): [L, L, H] -> [1, H, L, L].
    auto position_bias = at::embedding(layer.relative_bias, buckets)
                             .permute({2, 0, 1})
                             .unsqueeze(0);                              // [1, H, L, L]
    const auto attn_mask = at::where(key_valid, position_bias, lowest);  // [B, H, L, L]
    // No 1/sqrt(d_kv) scaling (T5 folds it into q). SDPA keeps softmax statistics in fp32.
    auto attn =
        at::scaled_dot_product_attention(q, k, v, attn_mask, 0.0, false, 1.0)  // [B, H, L, Dh]
            .transpose(1, 2)
            .reshape({B, L, H * Dh});   // [B, L, inner]
    x = x + at::linear(attn, layer.o);  // [B, L, D]
    // --- feed-forward (pre-norm) ---
    h = t5_rms_norm(x, layer.ffn_norm, c.layer_norm_epsilon);  // [B, L, D]
    auto ff = activation(at::linear(h, layer.wi_0), c.act);    // [B, L, d_ff]
    if (c.gated) ff = ff * at::linear(h, layer.wi_1);          // [B, L, d_ff]
    x = x + at::linear(ff, layer.wo);                          // [B, L, D]
  }
  return t5_rms_norm(x, weights_.final_norm, c.layer_norm_epsilon);  // [B, L, D]
}

}  // namespace rayvid::models::umt5
