// RMS norm, residual, attention and middle blocks: see blocks.h.
#include "models/wan_vae/blocks.h"

#include <ATen/ATen.h>

#include <cmath>

namespace rayvid::models::wan_vae {

RMSNorm RMSNorm::load(WeightLoader& loader, const std::string& prefix, int64_t dim, bool images) {
  RMSNorm norm;
  norm.gamma = images ? loader.take(prefix + ".gamma", {dim, 1, 1})
                      : loader.take(prefix + ".gamma", {dim, 1, 1, 1});
  norm.scale = std::sqrt(static_cast<double>(dim));
  return norm;
}

at::Tensor RMSNorm::forward(const at::Tensor& x) const {
  // Precision island: the reference normalises half-precision inputs in fp32, then casts back
  // before the scale and gamma multiplications (which then round in x's dtype).
  const bool low_precision = x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble;
  const at::Tensor xf = low_precision ? x.to(at::kFloat) : x;
  // F.normalize: x / max(||x||_2, eps) over channels
  const at::Tensor denom = at::norm(xf, 2, {1}, /*keepdim=*/true).clamp_min_(1e-12);  // [B,1,...]
  at::Tensor y = at::div(xf, denom);                                                  // like x
  if (low_precision) y = y.to(x.scalar_type());
  y.mul_(python_scalar(scale));  // not mul_(double): see python_scalar
  y.mul_(gamma);
  return y;
}

ResidualBlock ResidualBlock::load(WeightLoader& loader, const std::string& prefix, int64_t in,
                                  int64_t out) {
  ResidualBlock block;
  block.norm1 = RMSNorm::load(loader, prefix + ".norm1", in, /*images=*/false);
  block.conv1 =
      CausalConv3d::load(loader, prefix + ".conv1", in, out, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  block.norm2 = RMSNorm::load(loader, prefix + ".norm2", out, /*images=*/false);
  block.conv2 =
      CausalConv3d::load(loader, prefix + ".conv2", out, out, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  if (in != out) {
    block.conv_shortcut = CausalConv3d::load(loader, prefix + ".conv_shortcut", in, out, {1, 1, 1});
  }
  return block;
}

at::Tensor ResidualBlock::forward(const at::Tensor& x, FeatureCache* cache) const {
  const at::Tensor h =
      conv_shortcut.weight.defined() ? conv_shortcut.forward(x) : x;  // [B,Co,T,H,W]
  at::Tensor y = norm1.forward(x);                                    // [B, C_in, T, H, W]
  at::silu_(y);
  y = causal_conv_cached(conv1, y, cache);  // [B, C_out, T, H, W]
  y = norm2.forward(y);
  at::silu_(y);
  // (dropout: identity at inference)
  y = causal_conv_cached(conv2, y, cache);  // [B, C_out, T, H, W]
  return y.add_(h);
}

AttentionBlock AttentionBlock::load(WeightLoader& loader, const std::string& prefix, int64_t dim) {
  AttentionBlock block;
  block.norm = RMSNorm::load(loader, prefix + ".norm", dim, /*images=*/true);
  block.to_qkv = Conv2d::load(loader, prefix + ".to_qkv", dim, 3 * dim, 1);
  block.proj = Conv2d::load(loader, prefix + ".proj", dim, dim, 1);
  return block;
}

at::Tensor AttentionBlock::forward(const at::Tensor& x) const {
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
  at::Tensor y = x.permute({0, 2, 1, 3, 4}).reshape({b * t, c, h, w});  // [B*T, C, H, W]
  y = norm.forward(y);
  at::Tensor qkv = to_qkv.forward(y);                                           // [B*T, 3C, H, W]
  qkv = qkv.reshape({b * t, 1, c * 3, -1}).permute({0, 1, 3, 2}).contiguous();  // [B*T,1,HW,3C]
  // narrow() rather than chunk(): the same views, and list-of-views ops have no lazy-tensor
  // implementation (the placement tests' device).
  const at::Tensor q = qkv.narrow(-1, 0, c), k = qkv.narrow(-1, c, c), v = qkv.narrow(-1, 2 * c, c);
  at::Tensor attn = at::scaled_dot_product_attention(q, k, v);          // [B*T, 1, HW, C]
  attn = attn.squeeze(1).permute({0, 2, 1}).reshape({b * t, c, h, w});  // [B*T, C, H, W]
  attn = proj.forward(attn);                                            // [B*T, C, H, W]
  attn = attn.view({b, t, c, h, w}).permute({0, 2, 1, 3, 4});           // [B, C, T, H, W]
  return attn + x;
}

MidBlock MidBlock::load(WeightLoader& loader, const std::string& prefix, int64_t dim) {
  MidBlock block;
  block.resnets.push_back(ResidualBlock::load(loader, prefix + ".resnets.0", dim, dim));
  block.attentions.push_back(AttentionBlock::load(loader, prefix + ".attentions.0", dim));
  block.resnets.push_back(ResidualBlock::load(loader, prefix + ".resnets.1", dim, dim));
  return block;
}

at::Tensor MidBlock::forward(const at::Tensor& x, FeatureCache* cache) const {
  at::Tensor y = resnets[0].forward(x, cache);  // [B, C, T, H, W]
  for (size_t i = 0; i < attentions.size(); ++i) {
    y = attentions[i].forward(y);
    y = resnets[i + 1].forward(y, cache);
  }
  return y;
}

}  // namespace rayvid::models::wan_vae
