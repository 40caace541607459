// The types a kernel's public header (<op>.cuh) needs, and nothing else: no CUDA headers, no
// LibTorch. Host code (ops bindings, tests) includes a kernel header through this file.
//
// The same kernel source is built twice: by nvcc into the CUDA library (namespace
// rayvid::kernels::gpu) and by the host compiler into the emulator library (namespace
// rayvid::kernels::emu, RAYVID_KERNELS_EMU defined). The two namespaces let one test binary
// name either backend without symbol clashes.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(RAYVID_KERNELS_EMU)
#define RAYVID_KERNEL_BACKEND emu
#else
#define RAYVID_KERNEL_BACKEND gpu
#endif

namespace rayvid::kernels {

// Element type of a kernel's low-precision tensors.
enum class DType : int { kFloat16 = 0, kBFloat16 = 1 };

// cudaStream_t under CUDA (nullptr: the legacy default stream); ignored by the emulator.
using Stream = void*;

// What a launcher returns: nullptr when the kernel was launched, else why not (parameters the
// kernel does not support, or the CUDA error string). Static storage; never freed by the caller.
using LaunchError = const char*;

// The two backends' namespaces, declared so that code can alias either before including kernels.
namespace emu {}
namespace gpu {}

}  // namespace rayvid::kernels
