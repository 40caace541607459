// Binding of kernels/flash_attention on CPU tensors through the CPU emulator (backend `emu`, see
// attention_cuda.h): the same kernel source as the CUDA path, compiled by the host compiler into
// rayvid_kernels_emu (namespace rayvid::kernels::emu), with the same Params
// (flash_attention_params.h). Slow; it exists so that the CPU test suite runs the model through
// the kernel (tests/emu-model/).
//
// The kernel headers declare the launcher in the namespace RAYVID_KERNELS_EMU selects; ops links
// the emulator library without its compile definitions (they would turn the CUDA bindings' `gpu`
// declarations into `emu` ones), so this file asks for the emulator's declarations itself.
#define RAYVID_KERNELS_EMU 1
#include "ops/attention_cuda.h"

#include <atomic>

#include "core/check.h"
#include "ops/flash_attention_params.h"

namespace rayvid::ops {
namespace {
std::atomic<uint64_t> g_emu_launches{0};
}  // namespace

bool rayvid_attention_emu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          at::Tensor& out) {
  using namespace cuda_binding;
  if (!q.device().is_cpu() || !k.device().is_cpu() || !v.device().is_cpu()) return false;
  kernels::FlashAttentionParams p;
  if (!fill_flash_attention_params(q, k, v, out, &p)) return false;
  const kernels::LaunchError error = kernels::emu::flash_attention_forward(p, nullptr);
  RAYVID_CHECK(error == nullptr, Internal, "rayvid flash attention (emulator) launch failed: {}",
               error);
  g_emu_launches.fetch_add(1, std::memory_order_relaxed);
  return true;
}

uint64_t rayvid_attention_emu_launches() { return g_emu_launches.load(std::memory_order_relaxed); }

}  // namespace rayvid::ops
