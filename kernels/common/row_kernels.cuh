// Shared pieces of the row-wise kernels (RMSNorm, LayerNorm + AdaLN): a block of 256 threads owns
// one row, holds it in registers as fp32 (up to 4 chunks of 8 elements per thread, so rows of up
// to 8192 elements), and reduces across the block through a 32-float shared array.
#pragma once

#include "common/device.cuh"

namespace rayvid::kernels::device {

constexpr int kRowThreads = 256;
constexpr int kRowChunks = 4;  // 16-byte chunks per thread
constexpr int kRowMaxDim = kRowThreads * kRowChunks * 8;

// Sum of v over the block; every thread gets the result. `scratch` is 32 floats of shared memory.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = static_cast<int>(threadIdx.x % 32), warp = static_cast<int>(threadIdx.x / 32);
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous block_sum
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < kRowThreads / 32 ? scratch[lane] : 0.0f;
  return warp_sum(v);
}

// Loads chunk c (8 elements at c * 8) of a row as fp32; chunks past dim / 8 read as zero.
template <typename T>
__device__ __forceinline__ void load_chunk(const T* row, int c, int dim, float out[8]) {
  if (c * 8 >= dim) {
    for (int i = 0; i < 8; ++i) out[i] = 0.0f;
    return;
  }
  const uint4 raw = *reinterpret_cast<const uint4*>(row + c * 8);
  const uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
  for (int i = 0; i < 4; ++i) {
    out[2 * i] = lo_float<T>(words[i]);
    out[2 * i + 1] = hi_float<T>(words[i]);
  }
}

template <typename T>
__device__ __forceinline__ void store_chunk(T* row, int c, const float v[8]) {
  uint4 raw;
  raw.x = pack2<T>(v[0], v[1]);
  raw.y = pack2<T>(v[2], v[3]);
  raw.z = pack2<T>(v[4], v[5]);
  raw.w = pack2<T>(v[6], v[7]);
  *reinterpret_cast<uint4*>(row + c * 8) = raw;
}

// a * b rounded once, never contracted into an fma with a following add (the reference rounds
// each product: x1 * cos - x2 * sin).
__device__ __forceinline__ float mul_rn(float a, float b) {
#if defined(__CUDACC__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

}  // namespace rayvid::kernels::device
