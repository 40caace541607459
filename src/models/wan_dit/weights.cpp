// Wan DiT tensor list: see weights.h.
#include "models/wan_dit/weights.h"

#include <fmt/format.h>

namespace rayvid::models::wan_dit {
namespace {

using P = WeightPrecision;

struct Visitors {
  const WeightVisitor& visit;
  const Fp8LinearVisitor& visit_fp8;
};

void visit_linear(const WeightVisitor& visit, const std::string& name, Linear& linear,
                  std::vector<int64_t> weight_shape, P precision = P::kCompute) {
  const int64_t out = weight_shape[0];
  visit(name + ".weight", weight_shape, precision, linear.weight);
  visit(name + ".bias", {out}, precision, linear.bias);
}

// A block's Linear: its weight may be stored in fp8.
void visit_linear(const Visitors& v, const std::string& name, Linear& linear,
                  std::vector<int64_t> weight_shape) {
  if (!v.visit_fp8) return visit_linear(v.visit, name, linear, std::move(weight_shape));
  const int64_t out = weight_shape[0];
  v.visit_fp8(name + ".weight", weight_shape, linear);
  v.visit(name + ".bias", {out}, P::kCompute, linear.bias);
}

void visit_norm(const WeightVisitor& visit, const std::string& name, AffineNorm& norm, int64_t c) {
  visit(name + ".weight", {c}, P::kFloat32, norm.weight);
  visit(name + ".bias", {c}, P::kFloat32, norm.bias);
}

void visit_attention(const Visitors& v, const std::string& name, AttentionWeights& a,
                     const WanDiTConfig& c, bool image_path) {
  const int64_t d = c.dim;
  visit_linear(v, name + ".to_q", a.to_q, {d, d});
  visit_linear(v, name + ".to_k", a.to_k, {d, d});
  visit_linear(v, name + ".to_v", a.to_v, {d, d});
  visit_linear(v, name + ".to_out.0", a.to_out, {d, d});
  v.visit(name + ".norm_q.weight", {d}, P::kCompute, a.norm_q);
  v.visit(name + ".norm_k.weight", {d}, P::kCompute, a.norm_k);
  if (image_path) {
    visit_linear(v, name + ".add_k_proj", a.add_k_proj, {d, *c.added_kv_proj_dim});
    visit_linear(v, name + ".add_v_proj", a.add_v_proj, {d, *c.added_kv_proj_dim});
    v.visit(name + ".norm_added_k.weight", {d}, P::kCompute, a.norm_added_k);
  }
}

void visit_block(const Visitors& v, const std::string& name, BlockWeights& b, const WanDiTConfig& c,
                 bool image_path) {
  const int64_t d = c.dim;
  v.visit(name + ".scale_shift_table", {1, 6, d}, P::kFloat32, b.scale_shift_table);
  visit_attention(v, name + ".attn1", b.attn1, c, false);
  visit_attention(v, name + ".attn2", b.attn2, c, image_path);
  if (c.cross_attn_norm) visit_norm(v.visit, name + ".norm2", b.norm2, d);
  visit_linear(v, name + ".ffn.net.0.proj", b.ffn_in, {c.ffn_dim, d});
  visit_linear(v, name + ".ffn.net.2", b.ffn_out, {d, c.ffn_dim});
}

}  // namespace

void visit_weights(WanDiTWeights& w, const WanDiTConfig& c, const WeightVisitor& visit,
                   const Fp8LinearVisitor& visit_fp8) {
  const Visitors v{visit, visit_fp8};
  const int64_t d = c.dim;
  const auto& p = c.patch_size;
  visit_linear(visit, "patch_embedding", w.patch_embedding, {d, c.in_channels, p[0], p[1], p[2]});
  visit_linear(visit, "condition_embedder.time_embedder.linear_1", w.time_linear_1, {d, c.freq_dim},
               P::kFloat32);
  visit_linear(visit, "condition_embedder.time_embedder.linear_2", w.time_linear_2, {d, d},
               P::kFloat32);
  visit_linear(visit, "condition_embedder.time_proj", w.time_proj, {6 * d, d});
  visit_linear(visit, "condition_embedder.text_embedder.linear_1", w.text_linear_1,
               {d, c.text_dim});
  visit_linear(visit, "condition_embedder.text_embedder.linear_2", w.text_linear_2, {d, d});
  if (c.image_dim) {
    const int64_t di = *c.image_dim;
    const std::string name = "condition_embedder.image_embedder";
    if (c.pos_embed_seq_len)
      visit(name + ".pos_embed", {1, *c.pos_embed_seq_len, di}, P::kCompute,
            w.image_embedder.pos_embed);
    visit_norm(visit, name + ".norm1", w.image_embedder.norm1, di);
    visit_linear(visit, name + ".ff.net.0.proj", w.image_embedder.ff_in, {di, di});
    visit_linear(visit, name + ".ff.net.2", w.image_embedder.ff_out, {d, di});
    visit_norm(visit, name + ".norm2", w.image_embedder.norm2, d);
  }
  w.blocks.resize(c.num_layers);
  for (int64_t i = 0; i < c.num_layers; ++i)
    visit_block(v, fmt::format("blocks.{}", i), w.blocks[i], c, c.image_dim.has_value());
  visit_linear(visit, "proj_out", w.proj_out, {p[0] * p[1] * p[2] * c.out_channels, d});
  visit("scale_shift_table", {1, 2, d}, P::kFloat32, w.scale_shift_table);
  if (c.is_vace()) {
    visit_linear(visit, "vace_patch_embedding", w.vace_patch_embedding,
                 {d, c.vace_in_channels, p[0], p[1], p[2]});
    w.vace_blocks.resize(c.vace_layers.size());
    for (size_t k = 0; k < c.vace_layers.size(); ++k) {
      const std::string name = fmt::format("vace_blocks.{}", k);
      VaceBlockWeights& vace = w.vace_blocks[k];
      if (k == 0) visit_linear(visit, name + ".proj_in", vace.proj_in, {d, d});
      visit_block(v, name, vace.block, c, false);
      visit_linear(visit, name + ".proj_out", vace.proj_out, {d, d});
    }
  }
}

WanDiTWeights load_weights(WeightLoader& loader, const WanDiTConfig& config,
                           c10::ScalarType compute_dtype, WeightStorage storage) {
  WanDiTWeights weights;
  const Fp8LinearVisitor fp8 = [&](const std::string& name, const std::vector<int64_t>& shape,
                                   Linear& linear) {
    Fp8Weight w = loader.take_fp8(name, shape);
    linear.weight = std::move(w.data);
    linear.scale = std::move(w.scale);
  };
  visit_weights(
      weights, config,
      [&](const std::string& name, const std::vector<int64_t>& shape, WeightPrecision precision,
          at::Tensor& slot) {
        slot = loader.take(name, shape,
                           precision == WeightPrecision::kFloat32 ? at::kFloat : compute_dtype);
      },
      storage == WeightStorage::kFp8 ? fp8 : nullptr);
  // diffusers' _keys_to_ignore_on_load_unexpected: an unused query norm of the image path.
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string stray = fmt::format("blocks.{}.attn2.norm_added_q.weight", i);
    if (loader.has(stray)) loader.take(stray, {config.dim});
  }
  return weights;
}

std::map<std::string, std::vector<int64_t>> weight_shapes(const WanDiTConfig& config) {
  std::map<std::string, std::vector<int64_t>> shapes;
  WanDiTWeights unused;
  visit_weights(unused, config,
                [&](const std::string& name, const std::vector<int64_t>& shape, WeightPrecision,
                    at::Tensor&) { shapes[name] = shape; });
  return shapes;
}

int64_t fp8_storable_parameters(const WanDiTConfig& config) {
  int64_t count = 0;
  WanDiTWeights unused;
  visit_weights(
      unused, config,
      [](const std::string&, const std::vector<int64_t>&, WeightPrecision, at::Tensor&) {},
      [&](const std::string&, const std::vector<int64_t>& shape, Linear&) {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        count += n;
      });
  return count;
}

int64_t weight_bytes(const WanDiTWeights& weights, const WanDiTConfig& config) {
  int64_t bytes = 0;
  auto add = [&](const at::Tensor& t) {
    if (t.defined()) bytes += static_cast<int64_t>(t.nbytes());
  };
  WanDiTWeights view = weights;  // shares the tensors; the visitor only reads them
  visit_weights(
      view, config,
      [&](const std::string&, const std::vector<int64_t>&, WeightPrecision, at::Tensor& slot) {
        add(slot);
      },
      [&](const std::string&, const std::vector<int64_t>&, Linear& linear) {
        add(linear.weight);
        add(linear.scale);
      });
  return bytes;
}

}  // namespace rayvid::models::wan_dit
