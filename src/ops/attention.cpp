// Attention: input validation and backend dispatch (see attention.h).
#include "ops/attention.h"

#include "ops/attention_cuda.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include "core/check.h"
#include "ops/kernel_path.h"
#include "ops/reference/attention_reference.h"

namespace rayvid::ops {
namespace {

void check_inputs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  RAYVID_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, Internal,
               "attention: expected q, k, v of shape [B, L, heads, head_dim], got {}, {}, {}",
               fmt::join(q.sizes(), "x"), fmt::join(k.sizes(), "x"), fmt::join(v.sizes(), "x"));
  RAYVID_CHECK(k.sizes() == v.sizes(), Internal, "attention: k {} and v {} differ in shape",
               fmt::join(k.sizes(), "x"), fmt::join(v.sizes(), "x"));
  RAYVID_CHECK(q.size(0) == k.size(0) && q.size(2) == k.size(2) && q.size(3) == k.size(3), Internal,
               "attention: q {} and k {} disagree on batch, heads or head_dim",
               fmt::join(q.sizes(), "x"), fmt::join(k.sizes(), "x"));
  RAYVID_CHECK(k.size(1) > 0, Internal, "attention: no keys (k has length 0)");
  RAYVID_CHECK(q.scalar_type() == k.scalar_type() && q.scalar_type() == v.scalar_type() &&
                   at::isFloatingType(q.scalar_type()),
               Internal, "attention: q, k, v must share one floating dtype, got {}, {}, {}",
               c10::toString(q.scalar_type()), c10::toString(k.scalar_type()),
               c10::toString(v.scalar_type()));
  RAYVID_CHECK(q.device() == k.device() && q.device() == v.device(), Internal,
               "attention: q, k, v are on different devices");
}

KernelPathLog g_paths("attention", "SDPA");

at::Tensor attention_sdpa(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  // LibTorch's SDPA wants [B, heads, L, head_dim]; the transposes are views. Its CPU flash kernel
  // writes the output as [B, L, heads, head_dim] memory, so the transpose back is free too.
  return at::scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
      .transpose(1, 2);  // [B, Lq, heads, head_dim]
}

}  // namespace

KernelPathCounts attention_path_counts() { return g_paths.counts(); }

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     KernelBackend backend) {
  check_inputs(q, k, v);
  switch (backend) {
    case KernelBackend::kReference:
      return attention_reference(q, k, v);
    case KernelBackend::kAten:
      return attention_sdpa(q, k, v);
    case KernelBackend::kRayvid:
    case KernelBackend::kEmu: {
      // rayvid's flash-attention kernel where it applies (bf16/fp16, head_dim 64 or 128): native
      // on CUDA tensors (rayvid), or its own source on the CPU emulator (emu); SDPA otherwise.
      const bool emulated = backend == KernelBackend::kEmu;
      at::Tensor out;
      if (emulated ? rayvid_attention_emu(q, k, v, out) : rayvid_attention_cuda(q, k, v, out)) {
        g_paths.took_kernel(emulated);
        return out;
      }
      g_paths.took_fallback(emulated);
      return attention_sdpa(q, k, v);
    }
  }
  fail(ErrorCategory::kInternal, "attention: unhandled backend");
}

}  // namespace rayvid::ops
