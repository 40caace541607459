// Wan DiT building blocks: see layers.h.
#include "models/wan_dit/layers.h"

#include <ATen/ATen.h>

#include "models/fp8_weights.h"

namespace rayvid::models::wan_dit {
namespace {

bool gemm_in_fp32(const at::Tensor& t, const ComputeSettings& s) {
  return s.bf16_gemm_in_fp32 && t.scalar_type() == at::kBFloat16;
}

}  // namespace

bool stored_in_fp8(const Linear& w) { return is_fp8_dtype(w.weight.scalar_type()); }

Linear gemm_weights(const Linear& w, const ComputeSettings& s) {
  // fp8 storage: this layer's weight in the compute dtype, for this call only. The values are
  // what loading the checkpoint dequantized would hold (fp32 data x scale, rounded once).
  const Linear u =
      stored_in_fp8(w) ? Linear{dequantize_fp8({w.weight, w.scale}, s.dtype), w.bias, {}} : w;
  if (!gemm_in_fp32(u.weight, s)) return u;
  return {u.weight.to(at::kFloat), u.bias.to(at::kFloat), {}};
}

at::Tensor gemm_input(const at::Tensor& x, const ComputeSettings& s) {
  return gemm_in_fp32(x, s) ? x.to(at::kFloat) : x;
}

at::Tensor linear(const at::Tensor& x, const Linear& w, const ComputeSettings& s) {
  if (!stored_in_fp8(w) && !gemm_in_fp32(x, s)) return at::linear(x, w.weight, w.bias);
  const Linear g = gemm_weights(w, s);
  return at::linear(gemm_input(x, s), g.weight, g.bias).to(x.scalar_type());
}

at::Tensor layer_norm_fp32(const at::Tensor& x, const AffineNorm& norm, double eps) {
  return at::layer_norm(x.to(at::kFloat), {x.size(-1)}, norm.weight.to(at::kFloat),
                        norm.bias.to(at::kFloat), eps)
      .to(x.scalar_type());
}

}  // namespace rayvid::models::wan_dit
