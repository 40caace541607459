// Small building blocks of the Wan DiT forward: linear layers (with the CPU bf16 GEMM policy),
// fp32 LayerNorms, and the per-run settings every block needs.
#pragma once

#include <ATen/core/Tensor.h>

#include "models/wan_dit/weights.h"
#include "ops/kernel_backend.h"

namespace rayvid::models::wan_dit {

struct ComputeSettings {
  c10::ScalarType dtype = c10::kFloat;  // compute dtype: fp32 or bf16
  int64_t heads = 0;
  double eps = 1e-6;
  ops::KernelBackend kernels = ops::KernelBackend::kAten;  // for every hot op of the DiT
  // bf16 GEMMs as fp32 GEMMs of the bf16 values (exact products, fp32 sums, one rounding of the
  // result: what a native bf16 GEMM computes); used on CPUs without native bf16, where it is
  // several times faster.
  bool bf16_gemm_in_fp32 = false;
  int64_t ffn_chunk_rows = 8192;  // rows (batch·tokens) per FFN chunk: bounds [rows, ffn_dim]
};

// y = x·Wᵀ + b in x's dtype. An fp8-stored weight (Linear::scale) is dequantized for this call.
at::Tensor linear(const at::Tensor& x, const Linear& w, const ComputeSettings& s);

// The weights as this run's GEMMs take them (dequantized from fp8 storage; fp32 copies under
// bf16_gemm_in_fp32), for loops that reuse one layer many times.
Linear gemm_weights(const Linear& w, const ComputeSettings& s);
// x in the GEMM dtype (fp32 under bf16_gemm_in_fp32).
at::Tensor gemm_input(const at::Tensor& x, const ComputeSettings& s);

// Affine LayerNorm over the last dim in fp32 (diffusers FP32LayerNorm), result cast back to x's
// dtype. (The non-affine, modulated norms are ops::layer_norm_modulate.)
at::Tensor layer_norm_fp32(const at::Tensor& x, const AffineNorm& norm, double eps);

}  // namespace rayvid::models::wan_dit
