// Device and dtype parsing.
#include "core/device.h"

#include <ATen/Context.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>

#include "core/check.h"

namespace rayvid {

bool cuda_available() { return at::hasCUDA(); }

c10::Device resolve_device(std::string_view name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "auto") return cuda_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (name == "cuda") {
    RAYVID_CHECK(cuda_available(), Unsupported,
                 "--device cuda: no usable GPU was found (or LibTorch lacks CUDA); use --device "
                 "cpu or auto");
    return c10::Device(c10::kCUDA, 0);
  }
  fail(ErrorCategory::kBadArgument, "unknown device '{}'; use auto, cpu or cuda", name);
}

void synchronize(c10::Device device) {
  if (device.is_cpu()) return;
  c10::impl::getDeviceGuardImpl(device.type())
      ->synchronizeDevice(device.has_index() ? device.index() : 0);
}

c10::ScalarType parse_dtype(std::string_view name) {
  if (name == "fp32" || name == "float32") return c10::kFloat;
  if (name == "bf16" || name == "bfloat16") return c10::kBFloat16;
  if (name == "fp16" || name == "float16") return c10::kHalf;
  fail(ErrorCategory::kBadArgument, "unknown dtype '{}'; use fp32, bf16 or fp16", name);
}

std::string dtype_label(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::kFloat:
      return "fp32";
    case c10::kBFloat16:
      return "bf16";
    case c10::kHalf:
      return "fp16";
    default:
      return c10::toString(dtype);
  }
}

}  // namespace rayvid
