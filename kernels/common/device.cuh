// Device helpers shared by the kernels, identical in meaning under nvcc and the emulator:
// 16-bit float storage types and conversions, warp reductions, and the tensor-core vocabulary
// (mma.sync m16n8k16, ldmatrix, cp.async). Under nvcc these are inline PTX for sm_80+; under
// RAYVID_KERNELS_EMU they call the emulator, which implements the PTX ISA's fragment layouts.
#pragma once

#include <type_traits>

#include "common/portability.cuh"

namespace rayvid::kernels::device {

#if defined(__CUDACC__)
using bf16 = __nv_bfloat16;
using fp16 = __half;
__device__ __forceinline__ float to_float(bf16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_float(fp16 x) { return __half2float(x); }
template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ bf16 from_float<bf16>(float x) {
  return __float2bfloat16_rn(x);
}
template <>
__device__ __forceinline__ fp16 from_float<fp16>(float x) {
  return __float2half_rn(x);
}
// Two values in one .b32 register, `lo` in the lower half (the mma operand convention).
template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi);
template <>
__device__ __forceinline__ uint32_t pack2<bf16>(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}
template <>
__device__ __forceinline__ uint32_t pack2<fp16>(float lo, float hi) {
  __half2 v = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}
#else
// Bit-exact storage of the GPU's 16-bit floats; conversions round to nearest even like
// __float2bfloat16_rn / __float2half_rn.
struct bf16 {
  uint16_t bits;
};
struct fp16 {
  uint16_t bits;
};
inline float to_float(bf16 x) { return std::bit_cast<float>(static_cast<uint32_t>(x.bits) << 16); }
inline float to_float(fp16 x) {
  const uint32_t sign = (x.bits >> 15) & 1u, exponent = (x.bits >> 10) & 0x1fu;
  const uint32_t mantissa = x.bits & 0x3ffu;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    magnitude = mantissa ? std::nanf("") : INFINITY;
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
  }
  return sign ? -magnitude : magnitude;
}
template <typename T>
inline T from_float(float x);
template <>
inline bf16 from_float<bf16>(float x) {
  uint32_t u = std::bit_cast<uint32_t>(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{0x7fc0};
  u += 0x7fffu + ((u >> 16) & 1u);
  return bf16{static_cast<uint16_t>(u >> 16)};
}
template <>
inline fp16 from_float<fp16>(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x >= 0x7f800000u)
    return fp16{static_cast<uint16_t>(sign | (x > 0x7f800000u ? 0x7e00 : 0x7c00))};
  if (x >= 0x477ff000u) return fp16{static_cast<uint16_t>(sign | 0x7c00)};  // rounds to inf
  if (x < 0x38800000u) {  // below fp16's smallest normal: count units of 2^-24, ties to even
    const float units = std::nearbyint(std::bit_cast<float>(x) * 16777216.0f);
    return fp16{static_cast<uint16_t>(sign | static_cast<uint16_t>(units))};
  }
  uint32_t h = (((x >> 23) - 112u) << 10) | ((x & 0x7fffffu) >> 13);
  const uint32_t rest = x & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return fp16{static_cast<uint16_t>(sign | h)};
}
template <typename T>
inline uint32_t pack2(float lo, float hi) {
  return static_cast<uint32_t>(from_float<T>(lo).bits) |
         (static_cast<uint32_t>(from_float<T>(hi).bits) << 16);
}
#endif

template <typename T>
__device__ __forceinline__ float lo_float(uint32_t packed) {
  const uint16_t bits = static_cast<uint16_t>(packed & 0xffffu);
  T v;
  memcpy(&v, &bits, 2);
  return to_float(v);
}
template <typename T>
__device__ __forceinline__ float hi_float(uint32_t packed) {
  const uint16_t bits = static_cast<uint16_t>(packed >> 16);
  T v;
  memcpy(&v, &bits, 2);
  return to_float(v);
}

// ---- warp reductions over all 32 lanes, or over the 4 lanes of an mma quad -------------------
__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}
__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// ---- tensor cores --------------------------------------------------------------------------
// D = A * B + C for one 16x8x16 tile; a: 4 regs (A 16x16 row-major fragment), b: 2 regs (B 16x8
// "col" fragment), c and d: 4 fp32 (C/D 16x8 fragment). d may alias c.
template <typename T>
__device__ __forceinline__ void mma_m16n8k16(float d[4], const uint32_t a[4], const uint32_t b[2],
                                             const float c[4]) {
#if defined(__CUDACC__)
#if __CUDA_ARCH__ >= 800
  if constexpr (sizeof(T) == 2 && std::is_same_v<T, bf16>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%10,%11,%12,%13};\n"
        : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]),
          "f"(c[2]), "f"(c[3]));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%10,%11,%12,%13};\n"
        : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]),
          "f"(c[2]), "f"(c[3]));
  }
#endif
#else
  ::rayvid::emu::mma_m16n8k16(std::is_same_v<T, bf16> ? ::rayvid::emu::MmaType::kBFloat16
                                                      : ::rayvid::emu::MmaType::kFloat16,
                              d, a, b, c);
#endif
}

// ldmatrix.x4 from shared memory: lane i passes the address of row i % 8 of matrix i / 8 (16-byte
// aligned); regs[j] receives the lane's piece of matrix j. `trans` transposes each 8x8 matrix.
template <bool kTrans>
__device__ __forceinline__ void ldmatrix_x4(uint32_t regs[4], const void* smem_row) {
#if defined(__CUDACC__)
  const uint32_t address = static_cast<uint32_t>(__cvta_generic_to_shared(smem_row));
  if constexpr (kTrans) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(regs[0]), "=r"(regs[1]), "=r"(regs[2]), "=r"(regs[3])
                 : "r"(address));
  } else {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(regs[0]), "=r"(regs[1]), "=r"(regs[2]), "=r"(regs[3])
                 : "r"(address));
  }
#else
  ::rayvid::emu::ldmatrix(regs, 4, kTrans, smem_row);
#endif
}

// 16 bytes global -> shared without staging in registers; `valid` false writes 16 zero bytes
// (rows past the end of a tensor).
__device__ __forceinline__ void cp_async_16(void* smem_dst, const void* global_src, bool valid) {
#if defined(__CUDACC__)
  const uint32_t address = static_cast<uint32_t>(__cvta_generic_to_shared(smem_dst));
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(address), "l"(global_src),
               "r"(src_bytes));
#else
  ::rayvid::emu::cp_async_16(smem_dst, global_src, valid ? 16 : 0);
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDACC__)
  asm volatile("cp.async.commit_group;\n" ::);
#else
  ::rayvid::emu::cp_async_commit();
#endif
}
// Waits until at most kPending committed groups of this thread are still in flight.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
#if defined(__CUDACC__)
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
#else
  ::rayvid::emu::cp_async_wait(kPending);
#endif
}

}  // namespace rayvid::kernels::device
