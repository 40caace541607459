// The tensors of a Wan DiT, filled by (diffusers) name with strict shape checks. One visitor,
// visit_weights(), lists every tensor once with its name, shape and precision; loading,
// architecture checks and random initialisation (benchmarks) all go through it.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/wan_dit/config.h"
#include "models/weights.h"

namespace rayvid::models::wan_dit {

struct Linear {
  at::Tensor weight;   // [out, in]; float8_e4m3fn under fp8 storage (layers.h dequantizes it)
  at::Tensor bias;     // [out]
  at::Tensor scale{};  // fp8 storage: fp32 [] or [out] (undefined = 1); otherwise undefined
};

struct AffineNorm {
  at::Tensor weight;  // [C] fp32
  at::Tensor bias;    // [C] fp32
};

struct AttentionWeights {
  Linear to_q, to_k, to_v, to_out;  // [dim, dim] each
  at::Tensor norm_q, norm_k;        // [dim] RMSNorm scales over all heads
  Linear add_k_proj, add_v_proj;    // [dim, added_kv_proj_dim]: Wan2.1 I2V image path only
  at::Tensor norm_added_k;          // [dim]
};

struct BlockWeights {
  at::Tensor
      scale_shift_table;   // [1, 6, dim] fp32: shift/scale/gate (attn), shift/scale/gate (ffn)
  AttentionWeights attn1;  // self-attention
  AttentionWeights attn2;  // cross-attention to text (and image) tokens
  AffineNorm norm2;        // fp32 LayerNorm before cross-attention (cross_attn_norm)
  Linear ffn_in;           // [ffn_dim, dim]
  Linear ffn_out;          // [dim, ffn_dim]
};

struct ImageEmbedderWeights {
  AffineNorm norm1;      // [image_dim] fp32
  Linear ff_in;          // [image_dim, image_dim]
  Linear ff_out;         // [dim, image_dim]
  AffineNorm norm2;      // [dim] fp32
  at::Tensor pos_embed;  // [1, pos_embed_seq_len, image_dim]: FLF2V only
};

// A VACE block: a transformer block over the control tokens, with projections in and out.
struct VaceBlockWeights {
  BlockWeights block;  // the same tensors as blocks.{i}
  Linear proj_in;      // [dim, dim]: VACE block 0 only (control + patch-embedded latents)
  Linear proj_out;     // [dim, dim]: the hint added to the main stream
};

struct WanDiTWeights {
  Linear patch_embedding;  // weight [dim, in_channels, pt, ph, pw] (a Conv3d with stride = kernel)
  Linear time_linear_1;    // [dim, freq_dim] fp32
  Linear time_linear_2;    // [dim, dim] fp32
  Linear time_proj;        // [6·dim, dim]
  Linear text_linear_1;    // [dim, text_dim]
  Linear text_linear_2;    // [dim, dim]
  ImageEmbedderWeights image_embedder;  // Wan2.1 I2V/FLF2V only
  std::vector<BlockWeights> blocks;
  Linear proj_out;                            // [pt·ph·pw·out_channels, dim]
  at::Tensor scale_shift_table;               // [1, 2, dim] fp32: output shift, scale
  Linear vace_patch_embedding;                // VACE: [dim, vace_in_channels, pt, ph, pw]
  std::vector<VaceBlockWeights> vace_blocks;  // VACE: one per config.vace_layers entry
};

// Which dtype a tensor is kept in: the model's compute dtype, or fp32 for the precision islands
// diffusers keeps in fp32 (_keep_in_fp32_modules: time_embedder, scale_shift_table, norm1/2/3).
enum class WeightPrecision { kCompute, kFloat32 };

using WeightVisitor = std::function<void(const std::string& name, const std::vector<int64_t>& shape,
                                         WeightPrecision precision, at::Tensor& slot)>;
// The weight of a Linear that may be stored in fp8: the transformer blocks' projections and FFN
// (what ComfyUI's and Kijai's fp8 files quantize; embeddings, head and norms stay as they are).
using Fp8LinearVisitor = std::function<void(const std::string& weight_name,
                                            const std::vector<int64_t>& shape, Linear& linear)>;

// Calls `visit` once per tensor of the architecture, in state_dict order. With `visit_fp8`, the
// fp8-storable Linear weights go to it instead (their biases still to `visit`).
void visit_weights(WanDiTWeights& weights, const WanDiTConfig& config, const WeightVisitor& visit,
                   const Fp8LinearVisitor& visit_fp8 = nullptr);

// How the blocks' Linear weights are kept: in the compute dtype, or in fp8 with their scale
// (the checkpoint's own fp8 form, or quantized at load; half of bf16's bytes).
enum class WeightStorage { kCompute, kFp8 };

// Fills every tensor through `loader` (strict: call loader.finish() afterwards). Tolerates the
// stray `attn2.norm_added_q.weight` some converted checkpoints carry, as diffusers does.
WanDiTWeights load_weights(WeightLoader& loader, const WanDiTConfig& config,
                           c10::ScalarType compute_dtype,
                           WeightStorage storage = WeightStorage::kCompute);

// Parameters of the fp8-storable Linear weights (what fp8 storage keeps in one byte each).
int64_t fp8_storable_parameters(const WanDiTConfig& config);

// Bytes of every tensor the weights hold (fp8 data, scales and all), wherever they are.
int64_t weight_bytes(const WanDiTWeights& weights, const WanDiTConfig& config);

// name -> shape of every tensor the architecture has.
std::map<std::string, std::vector<int64_t>> weight_shapes(const WanDiTConfig& config);

}  // namespace rayvid::models::wan_dit
