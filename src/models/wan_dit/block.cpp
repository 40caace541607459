// Wan DiT transformer block: see block.h. The fp32 islands follow diffusers' WanTransformerBlock:
// modulation (scale_shift_table + time projection), the three LayerNorms and the gated residual
// sums are fp32; projections, attention and the FFN run in the compute dtype.
#include "models/wan_dit/block.h"

#include <ATen/ATen.h>

#include "ops/attention.h"
#include "ops/modulation.h"
#include "ops/rms_norm.h"

namespace rayvid::models::wan_dit {
namespace {

// [B, L, dim] -> [B, L, heads, head_dim] (a view).
at::Tensor split_heads(const at::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, x.size(2) / heads});
}

// [B, L, heads, head_dim] -> [B, L, dim].
at::Tensor merge_heads(const at::Tensor& x) {
  return x.reshape({x.size(0), x.size(1), x.size(2) * x.size(3)});
}

// ops::attention under the run's bf16 GEMM policy: on CPUs without native bf16, LibTorch's bf16
// attention kernels are slower than its fp32 ones, so bf16 q/k/v are attended in fp32.
at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                  const ComputeSettings& s) {
  // Only LibTorch's path: rayvid's kernels (native or emulated) take bf16 as it is.
  if (!s.bf16_gemm_in_fp32 || q.scalar_type() != at::kBFloat16 ||
      s.kernels != ops::KernelBackend::kAten) {
    return ops::attention(q, k, v, s.kernels);
  }
  return ops::attention(q.to(at::kFloat), k.to(at::kFloat), v.to(at::kFloat), s.kernels)
      .to(q.scalar_type());
}

at::Tensor self_attention(const at::Tensor& h, const AttentionWeights& w,
                          const ops::Rope3DTable& rope, const ComputeSettings& s) {
  const at::Tensor q =
      ops::rms_norm(linear(h, w.to_q, s), w.norm_q, s.eps, s.kernels);  // [B,L,dim]
  const at::Tensor k =
      ops::rms_norm(linear(h, w.to_k, s), w.norm_k, s.eps, s.kernels);  // [B,L,dim]
  const at::Tensor v = split_heads(linear(h, w.to_v, s), s.heads);      // [B, L, heads, hd]
  const ops::RotatedQK rotated =
      ops::rope3d(split_heads(q, s.heads), split_heads(k, s.heads), rope, s.kernels);
  const at::Tensor o = attend(rotated.q, rotated.k, v, s);  // [B, L, heads, hd]
  return linear(merge_heads(o), w.to_out, s);               // [B, L, dim]
}

at::Tensor cross_attention(const at::Tensor& h, const AttentionWeights& w,
                           const BlockContext& context, const ComputeSettings& s) {
  const at::Tensor q = split_heads(ops::rms_norm(linear(h, w.to_q, s), w.norm_q, s.eps, s.kernels),
                                   s.heads);  // [B,L,h,hd]
  at::Tensor o = attend(q, context.text_key, context.text_value, s);
  if (context.image_key.defined())  // two softmaxes over text and image tokens, summed
    o = o + attend(q, context.image_key, context.image_value, s);
  return linear(merge_heads(o), w.to_out, s);  // [B, L, dim]
}

// Linear -> GELU(tanh) -> Linear, in chunks of rows so the [rows, ffn_dim] hidden stays bounded.
at::Tensor feed_forward(const at::Tensor& h, const BlockWeights& w, const ComputeSettings& s) {
  const at::Tensor rows = h.view({-1, h.size(-1)});  // [B·L, dim]
  if (rows.size(0) <= s.ffn_chunk_rows) {
    at::Tensor hidden = linear(rows, w.ffn_in, s);  // [B·L, ffn_dim]
    return linear(at::gelu_(hidden, "tanh"), w.ffn_out, s).view(h.sizes());
  }
  const Linear in = gemm_weights(w.ffn_in, s), out = gemm_weights(w.ffn_out, s);
  at::Tensor result = at::empty_like(rows);  // [B·L, dim]
  for (int64_t start = 0; start < rows.size(0); start += s.ffn_chunk_rows) {
    const int64_t n = std::min(s.ffn_chunk_rows, rows.size(0) - start);
    at::Tensor hidden = at::linear(gemm_input(rows.narrow(0, start, n), s), in.weight, in.bias);
    hidden = hidden.to(h.scalar_type());
    at::gelu_(hidden, "tanh");  // [n, ffn_dim]
    result.narrow(0, start, n)
        .copy_(at::linear(gemm_input(hidden, s), out.weight, out.bias));  // [n, dim]
  }
  return result.view(h.sizes());  // [B, L, dim]
}

}  // namespace

BlockContext prepare_block_context(const BlockWeights& w, const at::Tensor& text,
                                   const at::Tensor& image, const ComputeSettings& s) {
  BlockContext c;
  const AttentionWeights& a = w.attn2;
  c.text_key =
      split_heads(ops::rms_norm(linear(text, a.to_k, s), a.norm_k, s.eps, s.kernels), s.heads);
  c.text_value = split_heads(linear(text, a.to_v, s), s.heads);  // [B, Lt, heads, hd]
  if (image.defined()) {
    c.image_key = split_heads(
        ops::rms_norm(linear(image, a.add_k_proj, s), a.norm_added_k, s.eps, s.kernels), s.heads);
    c.image_value = split_heads(linear(image, a.add_v_proj, s), s.heads);  // [B, Li, heads, hd]
  }
  return c;
}

at::Tensor block_forward(at::Tensor x, const BlockWeights& w, const at::Tensor& time_proj,
                         const TimestepGroups& groups, const ops::Rope3DTable& rope,
                         const BlockContext& context, const ComputeSettings& s) {
  // fp32 island: table + projected time, then one [B, G, 1, dim] row set per chunk.
  const at::Tensor modulation = w.scale_shift_table[0] + time_proj.to(at::kFloat);  // [N, 6, dim]
  auto row = [&](int64_t i) {
    return rows_for_groups(modulation.select(1, i), groups);
  };  // [B,G,C]

  at::Tensor h = ops::layer_norm_modulate(x, row(0), row(1), s.eps, s.kernels);  // [B, L, dim]
  x = ops::gated_residual(x, self_attention(h, w.attn1, rope, s), row(2), s.kernels);

  h = w.norm2.weight.defined() ? layer_norm_fp32(x, w.norm2, s.eps) : x;  // [B, L, dim]
  x.add_(cross_attention(h, w.attn2, context, s));  // compute dtype, as diffusers

  h = ops::layer_norm_modulate(x, row(3), row(4), s.eps, s.kernels);  // [B, L, dim]
  return ops::gated_residual(x, feed_forward(h, w, s), row(5), s.kernels);
}

}  // namespace rayvid::models::wan_dit
