// CPU capability queries (LibTorch's cpuinfo-based capability map).
#include "core/cpu_features.h"

#include <ATen/cpu/Utils.h>

namespace rayvid {

bool cpu_has_native_bf16_matmul() {
  static const bool native = [] {
    for (const auto& [name, value] : at::cpu::get_cpu_capabilities()) {
      // x86: avx512_bf16, amx_bf16; Arm: bf16, sve_bf16, ...
      if (name.find("bf16") != std::string::npos && value.isBool() && value.toBool()) return true;
    }
    return false;
  }();
  return native;
}

}  // namespace rayvid
