// Which implementation the DiT's hot ops run on, chosen once per model load for all of them
// (attention, the q/k RMSNorm, 3D RoPE, LayerNorm + AdaLN modulation, the gated residual):
//   rayvid     rayvid's CUDA kernels (kernels/) on CUDA tensors they cover; ATen for the rest
//   aten       LibTorch only (SDPA for attention): the comparison path, and the CPU's default
//   emu        the same kernel sources run by the CPU emulator on CPU tensors they cover, ATen for
//              the rest. Slow: it exists so the CPU test suite runs the model through the kernels
//   reference  each op's one reference (src/ops/reference/), plain fp32 math
// `auto` (the default) is rayvid on a CUDA device and aten elsewhere. Which path each call took is
// counted per op (ops/kernel_path.h) and reported in the sidecar.
#pragma once

#include <c10/core/Device.h>

#include <string_view>

namespace rayvid::ops {

enum class KernelBackend { kReference, kAten, kRayvid, kEmu };

// "auto", "rayvid", "aten", "emu" or "reference"; `auto` resolves for `device`. Anything else is a
// kBadArgument error listing the choices.
KernelBackend parse_kernel_backend(std::string_view name, c10::Device device);
std::string_view kernel_backend_name(KernelBackend backend);

}  // namespace rayvid::ops
