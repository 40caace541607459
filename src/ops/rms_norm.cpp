// RMSNorm: input validation and backend dispatch (see rms_norm.h).
#include "ops/rms_norm.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>

#include "core/check.h"
#include "ops/norms_cuda.h"
#include "ops/reference/rms_norm_reference.h"

namespace rayvid::ops {
namespace {

std::atomic<int64_t> g_kernel_calls{0}, g_fallback_calls{0};

at::Tensor rms_norm_aten(const at::Tensor& x, const at::Tensor& weight, double eps) {
  // LibTorch's fused rms_norm has the reference's numerics (fp32 statistics, weight applied in
  // fp32, one rounding) when weight and x share a dtype, in one pass instead of six.
  if (weight.scalar_type() == x.scalar_type()) return at::rms_norm(x, {x.size(-1)}, weight, eps);
  return rms_norm_reference(x, weight, eps);
}

}  // namespace

AttentionPathCounts rms_norm_path_counts() {
  return {g_kernel_calls.load(), g_fallback_calls.load()};
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps,
                    AttentionBackend backend) {
  RAYVID_CHECK(x.dim() >= 1 && weight.dim() == 1 && weight.size(0) == x.size(-1), Internal,
               "rms_norm: weight [{}] does not match the last dimension of x [{}]",
               fmt::join(weight.sizes(), ", "), fmt::join(x.sizes(), ", "));
  RAYVID_CHECK(at::isFloatingType(x.scalar_type()), Internal,
               "rms_norm: x must be floating, got {}", c10::toString(x.scalar_type()));
  at::Tensor out;
  switch (backend) {
    case AttentionBackend::kReference:
    case AttentionBackend::kSdpa:
      return rms_norm_aten(x, weight, eps);
    case AttentionBackend::kRayvid: {
      // rayvid's CUDA RMSNorm kernel where it applies (CUDA tensors, bf16/fp16, C a multiple of 8
      // up to 8192); the ATen path otherwise, e.g. on the CPU.
      if (rayvid_rms_norm_cuda(x, weight, eps, out)) {
        ++g_kernel_calls;
        return out;
      }
      ++g_fallback_calls;
      static std::once_flag logged;
      std::call_once(logged, [] {
        spdlog::info("rms_norm: the rayvid kernel does not apply to these tensors; using ATen");
      });
      return rms_norm_aten(x, weight, eps);
    }
    case AttentionBackend::kEmu: {
      // The CUDA kernel's own source on the CPU emulator (CPU tensors it covers); the ATen path
      // otherwise. Each path is logged once.
      if (rayvid_rms_norm_emu(x, weight, eps, out)) {
        ++g_kernel_calls;
        static std::once_flag logged_kernel;
        std::call_once(logged_kernel, [] {
          spdlog::info("rms_norm: emu backend runs the rayvid RMSNorm kernel on the CPU emulator");
        });
        return out;
      }
      ++g_fallback_calls;
      static std::once_flag logged_fallback;
      std::call_once(logged_fallback, [] {
        spdlog::info(
            "rms_norm: the emulated rayvid kernel does not apply to these tensors; using ATen");
      });
      return rms_norm_aten(x, weight, eps);
    }
  }
  fail(ErrorCategory::kInternal, "rms_norm: unhandled backend");
}

}  // namespace rayvid::ops
