// Kernel path counts and logs: see kernel_path.h.
#include "ops/kernel_path.h"

#include <spdlog/spdlog.h>

namespace rayvid::ops {

void KernelPathLog::took_kernel(bool emulated) {
  ++kernel_;
  if (emulated) {
    std::call_once(logged_[0], [&] {
      spdlog::info("{}: the emu backend runs rayvid's kernel on the CPU emulator", op_);
    });
  }
}

void KernelPathLog::took_fallback(bool emulated) {
  ++fallback_calls_;
  std::call_once(logged_[emulated ? 1 : 2], [&] {
    spdlog::info("{}: the {}rayvid kernel does not apply to these tensors; using {}", op_,
                 emulated ? "emulated " : "", fallback_);
  });
}

}  // namespace rayvid::ops
