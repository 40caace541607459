// Flash attention forward (non-causal): out = softmax(q k^T * scale) v per batch and head.
// The kernel is in flash_attention.cu (what it computes, work split, budgets, tests); this header
// is what host code sees: a plain Params struct and one launcher.
#pragma once

#include "common/kernel_api.h"

namespace rayvid::kernels {

// Tensors are [batch, len, heads, head_dim] as the DiT produces them, addressed through element
// strides so that views (e.g. q, k, v sliced out of a packed projection) need no copy. head_dim is
// contiguous (stride 1). All pointers and all strides must be multiples of 16 bytes (8 elements).
struct FlashAttentionParams {
  const void* q = nullptr;  // [batch, q_len, heads, head_dim], dtype
  const void* k = nullptr;  // [batch, kv_len, heads, head_dim], dtype
  const void* v = nullptr;  // [batch, kv_len, heads, head_dim], dtype
  void* out = nullptr;      // [batch, q_len, heads, head_dim], dtype
  int64_t q_batch_stride = 0, q_row_stride = 0, q_head_stride = 0;
  int64_t k_batch_stride = 0, k_row_stride = 0, k_head_stride = 0;
  int64_t v_batch_stride = 0, v_row_stride = 0, v_head_stride = 0;
  int64_t out_batch_stride = 0, out_row_stride = 0, out_head_stride = 0;
  int batch = 0;
  int heads = 0;
  int q_len = 0;               // any length >= 1 (not a multiple of the tile: 27,280, 32,760, ...)
  int kv_len = 0;              // any length >= 1, independent of q_len (512 text tokens, ...)
  int head_dim = 0;            // 64 or 128
  float softmax_scale = 0.0f;  // usually 1 / sqrt(head_dim)
  DType dtype = DType::kBFloat16;
};

}  // namespace rayvid::kernels

namespace rayvid::kernels::RAYVID_KERNEL_BACKEND {

// Launches on `stream`; returns nullptr, or why the parameters are not supported / the CUDA error.
LaunchError flash_attention_forward(const FlashAttentionParams& params, Stream stream);

}  // namespace rayvid::kernels::RAYVID_KERNEL_BACKEND
