// The umT5 encoder stack (transformers UMT5EncoderModel): token embedding, pre-norm blocks of
// self-attention with a relative-position bias table per layer (umT5; T5 shares layer 0's) and a
// gated-GELU FFN, a final RMSNorm. Attention has no 1/sqrt(d_kv) scaling (T5 folds it into q).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "models/umt5/config.h"
#include "models/weights.h"

namespace rayvid::models::umt5 {

struct UMT5Layer {
  at::Tensor attn_norm;      // [d_model]                 layer.0.layer_norm.weight
  at::Tensor q, k, v;        // [inner, d_model]          layer.0.SelfAttention.{q,k,v}.weight
  at::Tensor o;              // [d_model, inner]          layer.0.SelfAttention.o.weight
  at::Tensor relative_bias;  // [num_buckets, num_heads]  ...relative_attention_bias.weight
  at::Tensor ffn_norm;       // [d_model]                 layer.1.layer_norm.weight
  at::Tensor wi_0;           // [d_ff, d_model] activation branch (gated) or the only input
  at::Tensor wi_1;           // [d_ff, d_model] linear branch (gated only; undefined otherwise)
  at::Tensor wo;             // [d_model, d_ff]
};

struct UMT5Weights {
  at::Tensor embedding;  // [vocab_size, d_model]  shared.weight (= encoder.embed_tokens.weight)
  std::vector<UMT5Layer> layers;
  at::Tensor final_norm;  // [d_model]              encoder.final_layer_norm.weight

  // Strict: every tensor of the config must be there with its shape. The checkpoint may hold the
  // tied embedding as shared.weight, encoder.embed_tokens.weight, or both (then both are checked).
  static UMT5Weights load(WeightLoader& loader, const UMT5Config& config);
};

class UMT5Encoder {
 public:
  UMT5Encoder(UMT5Config config, UMT5Weights weights);

  // ids, mask: [B, L] int64 (mask 1 = real token). Returns the last hidden state
  // [B, L, d_model] in the weights' dtype, NOT zeroed beyond the mask (see TextEncoder).
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& mask) const;

  const UMT5Config& config() const { return config_; }
  c10::ScalarType dtype() const { return weights_.embedding.scalar_type(); }
  c10::Device device() const { return weights_.embedding.device(); }

 private:
  UMT5Config config_;
  UMT5Weights weights_;
};

// The bidirectional relative-position bucket of every (query, key) pair, exactly as
// UMT5Attention._relative_position_bucket computes it (float32 log, truncation): [L, L] int64.
at::Tensor relative_position_buckets(int64_t length, int64_t num_buckets, int64_t max_distance,
                                     c10::Device device);

}  // namespace rayvid::models::umt5
