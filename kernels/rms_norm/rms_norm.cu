// RMSNorm across the full hidden size (q/k norm of the Wan DiT: dim = heads * head_dim).
//
// Computes out = T(x * rsqrt(mean(x^2) + eps) * weight) per row, all in fp32 and rounded once to
// T (torch.nn.RMSNorm, which diffusers' WanAttention uses for its q/k norms).
// Layout: rows of `dim` contiguous elements at x_row_stride / out_row_stride (a [B, L, dim] tensor
// is rows = B * L when its rows are evenly spaced); x and out may alias (in place).
// Work split: one block of 256 threads per row (grid.x = rows, so rows up to 2^31 - 1); each
// thread keeps up to 4 chunks of 8 elements in registers, so the row is read once and written
// once (one pass over memory); the sum of squares is reduced by warp shuffles, then across warps
// through 32 floats of static shared memory.
// Budget: <= 64 registers (ptxas_budget), 128 B static shared memory, no spills. Memory-bound:
// 2 * rows * dim * sizeof(T) bytes; Wan 14B q or k at 720p (32,760 x 5,120 bf16) moves 671 MB,
// ~0.2 ms at the H100's 3.35 TB/s.
// Tested by tests/kernels/norm_kernels_test.cpp (emulated; natively with label gpu) against
// ops::rms_norm_reference (src/ops/reference/rms_norm_reference.cpp), the op's one reference; on
// the DiT's path through ops::rms_norm (backends rayvid and emu).
// ptxas-budget: rms_norm_kernel<__nv_bfloat16> registers=64 smem=128
// ptxas-budget: rms_norm_kernel<__half> registers=64 smem=128
#include "common/row_kernels.cuh"
#include "rms_norm/rms_norm.cuh"

namespace rayvid::kernels::RAYVID_KERNEL_BACKEND {
namespace {

using device::bf16;
using device::fp16;
using device::kRowChunks;
using device::kRowThreads;

template <typename T>
__global__ void __launch_bounds__(kRowThreads) rms_norm_kernel(const RmsNormParams p) {
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x;
  const T* x = static_cast<const T*>(p.x) + r * p.x_row_stride;
  T* out = static_cast<T*>(p.out) + r * p.out_row_stride;
  const T* weight = static_cast<const T*>(p.weight);
  float v[kRowChunks][8];
  float sum_sq = 0.0f;
  for (int i = 0; i < kRowChunks; ++i) {
    device::load_chunk(x, static_cast<int>(threadIdx.x) + i * kRowThreads, p.dim, v[i]);
    for (float e : v[i]) sum_sq += e * e;
  }
  const float inv_rms = rsqrtf(device::block_sum(sum_sq, scratch) / p.dim + p.eps);
  for (int i = 0; i < kRowChunks; ++i) {
    const int c = static_cast<int>(threadIdx.x) + i * kRowThreads;
    if (c * 8 >= p.dim) break;
    float w[8];
    device::load_chunk(weight, c, p.dim, w);
    float y[8];
    for (int e = 0; e < 8; ++e) y[e] = v[i][e] * inv_rms * w[e];
    device::store_chunk(out, c, y);
  }
}

template <typename T>
LaunchError launch(const RmsNormParams& p, Stream stream) {
  auto* kernel = &rms_norm_kernel<T>;
  RV_LAUNCH(kernel, dim3(static_cast<unsigned>(p.rows)), dim3(kRowThreads), 0, stream, p);
  return detail::last_launch_error();
}

bool aligned16(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; }

}  // namespace

LaunchError rms_norm_forward(const RmsNormParams& p, Stream stream) {
  if (p.rows <= 0 || p.rows > 0x7fffffff) return "rms_norm_forward: rows must be in [1, 2^31)";
  if (p.dim <= 0 || p.dim % 8 != 0 || p.dim > device::kRowMaxDim) {
    return "rms_norm_forward: dim must be a positive multiple of 8, at most 8192";
  }
  if (!aligned16(p.x) || !aligned16(p.weight) || !aligned16(p.out) || p.x_row_stride % 8 != 0 ||
      p.out_row_stride % 8 != 0) {
    return "rms_norm_forward: pointers must be 16-byte aligned and row strides multiples of 8";
  }
  return p.dtype == DType::kBFloat16 ? launch<bf16>(p, stream) : launch<fp16>(p, stream);
}

}  // namespace rayvid::kernels::RAYVID_KERNEL_BACKEND
