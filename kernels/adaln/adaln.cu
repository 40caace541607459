// LayerNorm + AdaLN modulation, and the gated residual add, of the Wan DiT block.
//
// layer_norm_modulate_kernel: out = T(LN(x) * (1 + scale) + shift), LN without affine, fp32 mean
//   and biased variance computed from registers in two steps (mean, then sum of squared
//   deviations: no cancellation). One block of 256 threads per row (grid (len, batch)); the row
//   lives in registers (<= 4 chunks of 8 per thread, dim <= 8192), so x is read once and out
//   written once; shift/scale are read once per element (fp32, the row of the token's timestep
//   group).
// gated_residual_kernel: out = T(x + y * gate) in fp32; grid (len, batch), 256 threads walking
//   the row in 8-element chunks: a single pass, 16-byte loads and stores.
// Layout: [batch, len, dim] with element strides, dim contiguous; out may alias x (in place).
// Budget: <= 64 registers each (ptxas_budget), 128 B static shared memory (LN), no spills.
// Memory-bound: LN+mod moves rows * dim * (2 * sizeof(T) + 8 / broadcast-dependent) bytes; Wan
// 14B at 720p (32,760 x 5,120 bf16) ~0.2 ms each on an H100.
// Tested by tests/kernels/norm_kernels_test.cpp (emulated; natively with label gpu) against the
// ops' one reference, src/ops/reference/modulation_reference.cpp.
// ptxas-budget: layer_norm_modulate_kernel<__nv_bfloat16> registers=64 smem=128
// ptxas-budget: layer_norm_modulate_kernel<__half> registers=64 smem=128
// ptxas-budget: gated_residual_kernel<__nv_bfloat16> registers=64 smem=0
// ptxas-budget: gated_residual_kernel<__half> registers=64 smem=0
#include "adaln/adaln.cuh"
#include "common/row_kernels.cuh"

namespace rayvid::kernels::RAYVID_KERNEL_BACKEND {
namespace {

using device::bf16;
using device::fp16;
using device::kRowChunks;
using device::kRowThreads;

__device__ __forceinline__ void load_chunk_f32(const float* row, int c, float out[8]) {
  const float4 a = *reinterpret_cast<const float4*>(row + c * 8);
  const float4 b = *reinterpret_cast<const float4*>(row + c * 8 + 4);
  out[0] = a.x, out[1] = a.y, out[2] = a.z, out[3] = a.w;
  out[4] = b.x, out[5] = b.y, out[6] = b.z, out[7] = b.w;
}

template <typename T>
__global__ void __launch_bounds__(kRowThreads)
    layer_norm_modulate_kernel(const LayerNormModulateParams p) {
  __shared__ float scratch[32];
  const int64_t l = blockIdx.x, b = blockIdx.y;
  const T* x = static_cast<const T*>(p.x) + b * p.x_batch_stride + l * p.x_row_stride;
  const int64_t g = l / p.group_len;
  const float* shift = p.shift + b * p.mod_batch_stride + g * p.mod_row_stride;
  const float* scale = p.scale + b * p.mod_batch_stride + g * p.mod_row_stride;
  T* out = static_cast<T*>(p.out) + b * p.out_batch_stride + l * p.out_row_stride;
  float v[kRowChunks][8];
  float sum = 0.0f;
  for (int i = 0; i < kRowChunks; ++i) {
    device::load_chunk(x, static_cast<int>(threadIdx.x) + i * kRowThreads, p.dim, v[i]);
    for (float e : v[i]) sum += e;
  }
  const float mean = device::block_sum(sum, scratch) / p.dim;
  float sum_sq = 0.0f;
  for (int i = 0; i < kRowChunks; ++i) {
    if ((static_cast<int>(threadIdx.x) + i * kRowThreads) * 8 >= p.dim) break;
    for (float e : v[i]) sum_sq += (e - mean) * (e - mean);
  }
  const float inv_std = rsqrtf(device::block_sum(sum_sq, scratch) / p.dim + p.eps);
  for (int i = 0; i < kRowChunks; ++i) {
    const int c = static_cast<int>(threadIdx.x) + i * kRowThreads;
    if (c * 8 >= p.dim) break;
    float sh[8], sc[8], y[8];
    load_chunk_f32(shift, c, sh);
    load_chunk_f32(scale, c, sc);
    for (int e = 0; e < 8; ++e) y[e] = (v[i][e] - mean) * inv_std * (1.0f + sc[e]) + sh[e];
    device::store_chunk(out, c, y);
  }
}

constexpr int kResidualThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kResidualThreads)
    gated_residual_kernel(const GatedResidualParams p) {
  const int64_t l = blockIdx.x, b = blockIdx.y;
  const T* x = static_cast<const T*>(p.x) + b * p.x_batch_stride + l * p.x_row_stride;
  const T* y = static_cast<const T*>(p.y) + b * p.y_batch_stride + l * p.y_row_stride;
  const float* gate = p.gate + b * p.gate_batch_stride + (l / p.group_len) * p.gate_row_stride;
  T* out = static_cast<T*>(p.out) + b * p.out_batch_stride + l * p.out_row_stride;
  for (int c = static_cast<int>(threadIdx.x); c * 8 < p.dim; c += kResidualThreads) {
    float xv[8], yv[8], gv[8];
    device::load_chunk(x, c, p.dim, xv);
    device::load_chunk(y, c, p.dim, yv);
    load_chunk_f32(gate, c, gv);
    for (int e = 0; e < 8; ++e) xv[e] += device::mul_rn(yv[e], gv[e]);
    device::store_chunk(out, c, xv);
  }
}

bool aligned16(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; }

bool strides8(std::initializer_list<int64_t> strides) {
  for (int64_t s : strides) {
    if (s % 8 != 0) return false;
  }
  return true;
}

}  // namespace

LaunchError layer_norm_modulate_forward(const LayerNormModulateParams& p, Stream stream) {
  if (p.batch <= 0 || p.batch > 65535 || p.len <= 0 || p.group_len <= 0 ||
      p.len % p.group_len != 0) {
    return "layer_norm_modulate_forward: batch must be in [1, 65535], len positive, group_len a "
           "divisor of len";
  }
  if (p.dim <= 0 || p.dim % 8 != 0 || p.dim > device::kRowMaxDim) {
    return "layer_norm_modulate_forward: dim must be a positive multiple of 8, at most 8192";
  }
  if (!aligned16(p.x) || !aligned16(p.shift) || !aligned16(p.scale) || !aligned16(p.out) ||
      !strides8({p.x_batch_stride, p.x_row_stride, p.mod_batch_stride, p.mod_row_stride,
                 p.out_batch_stride, p.out_row_stride})) {
    return "layer_norm_modulate_forward: pointers must be 16-byte aligned, strides multiples of 8";
  }
  const dim3 grid(static_cast<unsigned>(p.len), static_cast<unsigned>(p.batch));
  if (p.dtype == DType::kBFloat16) {
    auto* kernel = &layer_norm_modulate_kernel<bf16>;
    RV_LAUNCH(kernel, grid, dim3(kRowThreads), 0, stream, p);
  } else {
    auto* kernel = &layer_norm_modulate_kernel<fp16>;
    RV_LAUNCH(kernel, grid, dim3(kRowThreads), 0, stream, p);
  }
  return detail::last_launch_error();
}

LaunchError gated_residual_forward(const GatedResidualParams& p, Stream stream) {
  if (p.batch <= 0 || p.batch > 65535 || p.len <= 0 || p.dim <= 0 || p.dim % 8 != 0 ||
      p.group_len <= 0 || p.len % p.group_len != 0) {
    return "gated_residual_forward: batch must be in [1, 65535], len positive, group_len a divisor "
           "of len, dim a multiple of 8";
  }
  if (!aligned16(p.x) || !aligned16(p.y) || !aligned16(p.gate) || !aligned16(p.out) ||
      !strides8({p.x_batch_stride, p.x_row_stride, p.y_batch_stride, p.y_row_stride,
                 p.gate_batch_stride, p.gate_row_stride, p.out_batch_stride, p.out_row_stride})) {
    return "gated_residual_forward: pointers must be 16-byte aligned, strides multiples of 8";
  }
  const dim3 grid(static_cast<unsigned>(p.len), static_cast<unsigned>(p.batch));
  if (p.dtype == DType::kBFloat16) {
    auto* kernel = &gated_residual_kernel<bf16>;
    RV_LAUNCH(kernel, grid, dim3(kResidualThreads), 0, stream, p);
  } else {
    auto* kernel = &gated_residual_kernel<fp16>;
    RV_LAUNCH(kernel, grid, dim3(kResidualThreads), 0, stream, p);
  }
  return detail::last_launch_error();
}

}  // namespace rayvid::kernels::RAYVID_KERNEL_BACKEND
