// Wan DiT building blocks: see layers.h.
#include "models/wan_dit/layers.h"

#include <ATen/ATen.h>

namespace rayvid::models::wan_dit {
namespace {

bool gemm_in_fp32(const at::Tensor& t, const ComputeSettings& s) {
  return s.bf16_gemm_in_fp32 && t.scalar_type() == at::kBFloat16;
}

}  // namespace

Linear gemm_weights(const Linear& w, const ComputeSettings& s) {
  if (!gemm_in_fp32(w.weight, s)) return w;
  return {w.weight.to(at::kFloat), w.bias.to(at::kFloat)};
}

at::Tensor gemm_input(const at::Tensor& x, const ComputeSettings& s) {
  return gemm_in_fp32(x, s) ? x.to(at::kFloat) : x;
}

at::Tensor linear(const at::Tensor& x, const Linear& w, const ComputeSettings& s) {
  if (!gemm_in_fp32(x, s)) return at::linear(x, w.weight, w.bias);
  const Linear w32 = gemm_weights(w, s);
  return at::linear(x.to(at::kFloat), w32.weight, w32.bias).to(x.scalar_type());
}

at::Tensor layer_norm_fp32(const at::Tensor& x, const AffineNorm& norm, double eps) {
  return at::layer_norm(x.to(at::kFloat), {x.size(-1)}, norm.weight.to(at::kFloat),
                        norm.bias.to(at::kFloat), eps)
      .to(x.scalar_type());
}

}  // namespace rayvid::models::wan_dit
