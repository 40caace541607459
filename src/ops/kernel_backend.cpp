// Kernel backend names (see kernel_backend.h).
#include "ops/kernel_backend.h"

#include "core/check.h"

namespace rayvid::ops {

KernelBackend parse_kernel_backend(std::string_view name, c10::Device device) {
  if (name == "auto") return device.is_cuda() ? KernelBackend::kRayvid : KernelBackend::kAten;
  if (name == "rayvid") return KernelBackend::kRayvid;
  if (name == "aten") return KernelBackend::kAten;
  if (name == "emu") return KernelBackend::kEmu;
  if (name == "reference") return KernelBackend::kReference;
  fail(ErrorCategory::kBadArgument,
       "unknown kernel backend '{}'; use auto, rayvid, aten, emu or reference", name);
}

std::string_view kernel_backend_name(KernelBackend backend) {
  switch (backend) {
    case KernelBackend::kReference:
      return "reference";
    case KernelBackend::kAten:
      return "aten";
    case KernelBackend::kRayvid:
      return "rayvid";
    case KernelBackend::kEmu:
      return "emu";
  }
  return "?";
}

}  // namespace rayvid::ops
