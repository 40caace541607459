// Device and dtype choices as the user spells them ("auto", "cuda", "bf16").
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>
#include <string_view>

namespace rayvid {

bool cuda_available();  // LibTorch was built with CUDA and a GPU is visible

// "auto" picks CUDA when available, else the CPU. "cuda" without a GPU is a kUnsupported error
// that says so; "cpu" always works.
c10::Device resolve_device(std::string_view name);

// Waits for the device's queued work (a no-op on the CPU), so wall-clock times of GPU work are
// real and not just launch times.
void synchronize(c10::Device device);

// Whether model code runs under c10::InferenceMode on this device. It does everywhere except on
// LibTorch's lazy device (the placement tests' second device): lazy tensors implement views through
// functionalization, which needs the view tracking inference mode skips. Nothing requires grad
// either way, so the numbers are the same.
inline bool inference_mode_on(c10::Device device) { return device.type() != c10::kLazy; }

// "fp32"/"float32", "bf16"/"bfloat16", "fp16"/"float16".
c10::ScalarType parse_dtype(std::string_view name);
std::string dtype_label(c10::ScalarType dtype);  // "fp32", "bf16", "fp16", or ATen's name

}  // namespace rayvid
