// Binding of kernels/rms_norm on CPU tensors through the CPU emulator (backend `emu`, see
// norms_cuda.h): the same kernel source as the CUDA path, compiled by the host compiler into
// rayvid_kernels_emu (namespace rayvid::kernels::emu), with the same Params (rms_norm_params.h).
// Slow; it exists so that the CPU test suite runs the model through the kernel (tests/emu-model/).
//
// As in flash_attention_emu.cpp: the kernel headers declare the launcher in the namespace
// RAYVID_KERNELS_EMU selects, and ops links the emulator library without its compile definitions
// (they would turn the CUDA bindings' `gpu` declarations into `emu` ones), so this file asks for
// the emulator's declarations itself.
#define RAYVID_KERNELS_EMU 1
#include "ops/norms_cuda.h"

#include <atomic>

#include "core/check.h"
#include "ops/rms_norm_params.h"

namespace rayvid::ops {
namespace {
std::atomic<uint64_t> g_emu_launches{0};
}  // namespace

bool rayvid_rms_norm_emu(const at::Tensor& x, const at::Tensor& weight, double eps,
                         at::Tensor& out) {
  using namespace cuda_binding;
  if (!x.device().is_cpu() || !weight.device().is_cpu()) return false;
  if (out.defined() && !out.device().is_cpu()) return false;
  kernels::RmsNormParams p;
  if (!fill_rms_norm_params(x, weight, eps, out, &p)) return false;
  const kernels::LaunchError error = kernels::emu::rms_norm_forward(p, nullptr);
  RAYVID_CHECK(error == nullptr, Internal, "rayvid RMSNorm (emulator) launch failed: {}", error);
  g_emu_launches.fetch_add(1, std::memory_order_relaxed);
  return true;
}

uint64_t rayvid_rms_norm_emu_launches() { return g_emu_launches.load(std::memory_order_relaxed); }

}  // namespace rayvid::ops
