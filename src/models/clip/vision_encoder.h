// The CLIP vision tower (transformers CLIPVisionModel[WithProjection]): patch embedding (conv,
// no bias), class token, learned position embeddings, pre-LayerNorm ("pre_layrnorm"), pre-LN
// transformer blocks. Wan I2V uses hidden_states[-2]: the output of the penultimate block,
// before post_layernorm and the projection, so forward() stops there.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "models/clip/config.h"
#include "models/weights.h"

namespace rayvid::models::clip {

struct CLIPLinear {
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out]
};

struct CLIPLayer {
  CLIPLinear norm1;         // layer_norm1 (weight, bias [D])
  CLIPLinear q, k, v, out;  // self_attn.{q,k,v,out}_proj [D, D]
  CLIPLinear norm2;         // layer_norm2
  CLIPLinear fc1;           // mlp.fc1 [intermediate, D]
  CLIPLinear fc2;           // mlp.fc2 [D, intermediate]
};

struct CLIPVisionWeights {
  at::Tensor class_embedding;      // [D]
  at::Tensor patch_embedding;      // [D, C, P, P] (no bias)
  at::Tensor position_embedding;   // [num_positions, D]
  CLIPLinear pre_norm;             // vision_model.pre_layrnorm
  std::vector<CLIPLinear> unused;  // post_layernorm, visual_projection: checked, not used
  std::vector<CLIPLayer> layers;   // all num_hidden_layers (the last is checked, not run)

  static CLIPVisionWeights load(WeightLoader& loader, const CLIPVisionConfig& config);
};

class CLIPVisionEncoder {
 public:
  CLIPVisionEncoder(CLIPVisionConfig config, CLIPVisionWeights weights);

  // pixel_values [B, C, image_size, image_size] (any float dtype/device; moved to the weights')
  // -> hidden_states[-2] [B, num_positions, D] in the weights' dtype.
  at::Tensor penultimate_hidden_state(const at::Tensor& pixel_values) const;

  const CLIPVisionConfig& config() const { return config_; }
  c10::ScalarType dtype() const { return weights_.patch_embedding.scalar_type(); }
  c10::Device device() const { return weights_.patch_embedding.device(); }

 private:
  CLIPVisionConfig config_;
  CLIPVisionWeights weights_;
};

}  // namespace rayvid::models::clip
