// RMSNorm: input validation and backend dispatch (see rms_norm.h).
#include "ops/rms_norm.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include "core/check.h"
#include "ops/kernel_path.h"
#include "ops/norms_cuda.h"
#include "ops/reference/rms_norm_reference.h"

namespace rayvid::ops {
namespace {

KernelPathLog g_paths("rms_norm", "ATen");

at::Tensor rms_norm_aten(const at::Tensor& x, const at::Tensor& weight, double eps) {
  // LibTorch's fused rms_norm has the reference's numerics (fp32 statistics, weight applied in
  // fp32, one rounding) when weight and x share a dtype, in one pass instead of six.
  if (weight.scalar_type() == x.scalar_type()) return at::rms_norm(x, {x.size(-1)}, weight, eps);
  return rms_norm_reference(x, weight, eps);
}

}  // namespace

KernelPathCounts rms_norm_path_counts() { return g_paths.counts(); }

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps,
                    KernelBackend backend) {
  RAYVID_CHECK(x.dim() >= 1 && weight.dim() == 1 && weight.size(0) == x.size(-1), Internal,
               "rms_norm: weight [{}] does not match the last dimension of x [{}]",
               fmt::join(weight.sizes(), ", "), fmt::join(x.sizes(), ", "));
  RAYVID_CHECK(at::isFloatingType(x.scalar_type()), Internal,
               "rms_norm: x must be floating, got {}", c10::toString(x.scalar_type()));
  at::Tensor out;
  switch (backend) {
    case KernelBackend::kReference:
    case KernelBackend::kAten:
      return rms_norm_aten(x, weight, eps);
    case KernelBackend::kRayvid:
    case KernelBackend::kEmu: {
      // rayvid's RMSNorm kernel where it applies (bf16/fp16, C a multiple of 8 up to 8192):
      // native on CUDA tensors (rayvid), or its own source on the CPU emulator (emu); ATen
      // otherwise.
      const bool emulated = backend == KernelBackend::kEmu;
      if (emulated ? rayvid_rms_norm_emu(x, weight, eps, out)
                   : rayvid_rms_norm_cuda(x, weight, eps, out)) {
        g_paths.took_kernel(emulated);
        return out;
      }
      g_paths.took_fallback(emulated);
      return rms_norm_aten(x, weight, eps);
    }
  }
  fail(ErrorCategory::kInternal, "rms_norm: unhandled backend");
}

}  // namespace rayvid::ops
