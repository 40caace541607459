// Makes one kernel source compile under nvcc and under the host compiler (the emulator). Included
// first by every kernels/**/*.cu file, never by host code (it defines CUDA's keywords as macros).
//   nvcc: the real CUDA headers; the launch macro is <<<...>>>.
//   RAYVID_KERNELS_EMU: CUDA's vocabulary mapped onto kernels/emu/emu.h (threads are fibers;
//   __shared__ becomes block-wide storage; warp intrinsics are emulator collectives).
// Device helpers shared by both (types, conversions, mma/ldmatrix/cp.async) are in device.cuh.
#pragma once

#include "common/kernel_api.h"

#if defined(__CUDACC__)

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#define RV_LAUNCH(kernel, grid, block, smem, stream, ...) \
  kernel<<<(grid), (block), (smem), static_cast<cudaStream_t>(stream)>>>(__VA_ARGS__)
// The block's dynamic shared memory as `type* name` (one untyped extern array for all kernels,
// so that kernels with different element types do not redeclare it).
#define RV_DYNAMIC_SMEM(type, name)                                     \
  extern __shared__ __align__(128) unsigned char rv_dynamic_smem_raw[]; \
  type* name = reinterpret_cast<type*>(rv_dynamic_smem_raw)

namespace rayvid::kernels::detail {
// The error of the last launch on this host thread, as a LaunchError.
inline LaunchError last_launch_error() {
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? nullptr : cudaGetErrorString(e);
}
template <typename Kernel>
inline LaunchError allow_dynamic_smem(Kernel kernel, size_t bytes) {
  if (bytes <= 48 * 1024) return nullptr;
  const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             static_cast<int>(bytes));
  return e == cudaSuccess ? nullptr : cudaGetErrorString(e);
}
}  // namespace rayvid::kernels::detail

#elif defined(RAYVID_KERNELS_EMU)

#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "emu/emu.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// One block runs at a time on the launching OS thread and its threads are fibers of that thread,
// so a function-local thread_local is exactly "one copy per block, shared by its threads".
#define __shared__ static thread_local
#define __align__(n) __attribute__((aligned(n)))
#define threadIdx (::rayvid::emu::thread_idx())
#define blockIdx (::rayvid::emu::block_idx())
#define blockDim (::rayvid::emu::block_dim())
#define gridDim (::rayvid::emu::grid_dim())

#define RV_DYNAMIC_SMEM(type, name) \
  type* name = reinterpret_cast<type*>(::rayvid::emu::dynamic_smem())

using dim3 = ::rayvid::emu::Dim3;
inline constexpr int warpSize = 32;

struct alignas(16) uint4 {
  unsigned x, y, z, w;
};
struct alignas(8) uint2 {
  unsigned x, y;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) float2 {
  float x, y;
};

inline void __syncthreads() { ::rayvid::emu::syncthreads(); }
inline int __syncthreads_count(int predicate) {
  return ::rayvid::emu::syncthreads_count(predicate);
}
inline int __syncthreads_or(int predicate) {
  return ::rayvid::emu::syncthreads_count(predicate) != 0;
}
inline void __syncwarp(unsigned mask = 0xffffffffu) { ::rayvid::emu::syncwarp(mask); }
inline void __threadfence_block() {}
inline void __threadfence() {}

template <typename T>
inline T __shfl_sync(unsigned mask, T v, int src_lane, int width = 32) {
  static_assert(sizeof(T) == 4, "the emulator shuffles 32-bit values");
  return std::bit_cast<T>(::rayvid::emu::shfl(mask, std::bit_cast<uint32_t>(v), src_lane, width));
}
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  static_assert(sizeof(T) == 4, "the emulator shuffles 32-bit values");
  return std::bit_cast<T>(
      ::rayvid::emu::shfl_xor(mask, std::bit_cast<uint32_t>(v), lane_mask, width));
}
template <typename T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  static_assert(sizeof(T) == 4, "the emulator shuffles 32-bit values");
  return std::bit_cast<T>(::rayvid::emu::shfl_down(mask, std::bit_cast<uint32_t>(v), delta, width));
}
template <typename T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  static_assert(sizeof(T) == 4, "the emulator shuffles 32-bit values");
  return std::bit_cast<T>(::rayvid::emu::shfl_up(mask, std::bit_cast<uint32_t>(v), delta, width));
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  return ::rayvid::emu::ballot(mask, predicate);
}
inline int __any_sync(unsigned mask, int predicate) {
  return ::rayvid::emu::ballot(mask, predicate) != 0;
}
inline int __all_sync(unsigned mask, int predicate) {
  return ::rayvid::emu::ballot(mask, predicate) == (mask & ::rayvid::emu::ballot(mask, 1));
}

// Atomics: one block runs at a time, but atomic_ref keeps them honest if that ever changes.
template <typename T>
inline T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}
inline int atomicMax(int* address, int value) {
  std::atomic_ref<int> ref(*address);
  int old = ref.load();
  while (old < value && !ref.compare_exchange_weak(old, value)) {
  }
  return old;
}
template <typename T>
inline T atomicCAS(T* address, T compare, T value) {
  std::atomic_ref<T>(*address).compare_exchange_strong(compare, value);
  return compare;
}
template <typename T>
inline T atomicExch(T* address, T value) {
  return std::atomic_ref<T>(*address).exchange(value);
}

template <typename T>
inline T __ldg(const T* p) {
  return *p;
}
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __fdividef(float a, float b) { return a / b; }

enum cudaError_t { cudaSuccess = 0 };
using cudaStream_t = void*;

#define RV_LAUNCH(kernel, grid, block, smem, stream, ...)                                       \
  ::rayvid::kernels::detail::emu_launch(reinterpret_cast<const void*>(kernel), (grid), (block), \
                                        (smem), [&] { kernel(__VA_ARGS__); })

namespace rayvid::kernels::detail {
inline thread_local std::string t_emu_error;
template <typename Body>
inline void emu_launch(const void* kernel, dim3 grid, dim3 block, size_t smem, Body&& body) {
  t_emu_error.clear();
  try {
    ::rayvid::emu::launch(kernel, grid, block, smem, body);
  } catch (const ::rayvid::emu::EmuError& e) {
    t_emu_error = e.what();
  }
}
inline LaunchError last_launch_error() {
  return t_emu_error.empty() ? nullptr : t_emu_error.c_str();
}
template <typename Kernel>
inline LaunchError allow_dynamic_smem(Kernel kernel, size_t bytes) {
  if (bytes <= 48 * 1024) return nullptr;
  try {
    ::rayvid::emu::set_max_dynamic_smem(reinterpret_cast<const void*>(kernel), bytes);
  } catch (const ::rayvid::emu::EmuError& e) {
    t_emu_error = e.what();
    return t_emu_error.c_str();
  }
  return nullptr;
}
}  // namespace rayvid::kernels::detail

#else
#error "kernels/**/*.cu is compiled by nvcc, or by the host compiler with RAYVID_KERNELS_EMU"
#endif
