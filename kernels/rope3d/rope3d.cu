// Fused 3D RoPE for q and k of the Wan DiT (diffusers' WanRotaryPosEmbed + apply_rotary_emb).
//
// Computes, for every token l at patch-grid position (f, h, w), head and pair j = (2j, 2j + 1):
//   out[2j] = x[2j] cos(a) - x[2j+1] sin(a),  out[2j+1] = x[2j] sin(a) + x[2j+1] cos(a)
// with a = pos * theta^(-2i / axis_dim) for the axis (t, h, w) that pair j falls in (see
// rope3d.cuh). Angles, cos and sin in fp64 then rounded to fp32 like the reference's float64
// tables; products rounded separately (no fma), so the result matches the reference bit for bit
// up to libm's last fp64 ulp.
//
// Why a kernel of its own and not inside the attention load: the attention kernel reloads each K
// tile for every 64-query block (q_len / 64 times), so rotating there multiplies the
// transcendental work by hundreds and adds registers to a kernel at 190+; cross-attention needs
// no RoPE at all. Here each token's cos/sin table is computed once per block in shared memory
// and reused across all heads of q and k; the kernel is memory-bound at 2 reads + 2 writes of q,k
// (Wan 14B at 720p: 1.3 GB, ~0.4 ms on an H100, under 2% of the attention it feeds).
//
// Layout: [batch, len, heads, head_dim] with element strides, head_dim contiguous; in place
// allowed. Work split: grid (len, batch), 128 threads; threads first fill head_dim / 2 cos/sin
// pairs in shared memory, then walk (tensor, head, 8-element chunk) with 16-byte loads/stores.
// Budget: <= 64 registers (ptxas_budget), 1 KiB static shared memory, no spills.
// Tested by tests/kernels/rope3d_test.cpp (emulated; natively with label gpu) against
// src/ops/reference/rope3d_ref.cpp.
// ptxas-budget: rope3d_kernel<__nv_bfloat16> registers=64 smem=1024
// ptxas-budget: rope3d_kernel<__half> registers=64 smem=1024
#include "common/row_kernels.cuh"
#include "rope3d/rope3d.cuh"

namespace rayvid::kernels::RAYVID_KERNEL_BACKEND {
namespace {

using device::bf16;
using device::fp16;

constexpr int kThreads = 128;
constexpr int kMaxPairs = 128;  // head_dim <= 256

template <typename T>
__global__ void __launch_bounds__(kThreads) rope3d_kernel(const Rope3DParams p) {
  __shared__ float cos_table[kMaxPairs];
  __shared__ float sin_table[kMaxPairs];
  const int l = static_cast<int>(blockIdx.x), b = static_cast<int>(blockIdx.y);
  const int pairs = p.head_dim / 2;
  const int sixth = p.head_dim / 6;
  const int t_pairs = (p.head_dim - 4 * sixth) / 2, h_pairs = sixth;  // w_pairs = sixth too
  const int pos_f = l / (p.grid_h * p.grid_w), pos_h = (l / p.grid_w) % p.grid_h;
  const int pos_w = l % p.grid_w;
  for (int j = static_cast<int>(threadIdx.x); j < pairs; j += kThreads) {
    int i = j, axis_dim = 2 * t_pairs, pos = pos_f;
    if (j >= t_pairs + h_pairs) {
      i = j - t_pairs - h_pairs, axis_dim = 2 * sixth, pos = pos_w;
    } else if (j >= t_pairs) {
      i = j - t_pairs, axis_dim = 2 * sixth, pos = pos_h;
    }
    const double inv_freq = 1.0 / pow(p.theta, static_cast<double>(2 * i) / axis_dim);
    const double angle = static_cast<double>(pos) * inv_freq;
    cos_table[j] = static_cast<float>(cos(angle));
    sin_table[j] = static_cast<float>(sin(angle));
  }
  __syncthreads();
  const int chunks_per_head = p.head_dim / 8;
  const int chunks = p.num_tensors * p.heads * chunks_per_head;
  for (int c = static_cast<int>(threadIdx.x); c < chunks; c += kThreads) {
    const int tensor = c / (p.heads * chunks_per_head);
    const int head = (c / chunks_per_head) % p.heads, chunk = c % chunks_per_head;
    const Rope3DTensor& t = p.tensors[tensor];
    const T* in = static_cast<const T*>(t.in) + b * t.in_batch_stride + l * t.in_row_stride +
                  head * t.in_head_stride;
    T* out = static_cast<T*>(t.out) + b * t.out_batch_stride + l * t.out_row_stride +
             head * t.out_head_stride;
    float x[8], y[8];
    device::load_chunk(in, chunk, p.head_dim, x);
    for (int e = 0; e < 4; ++e) {
      const int j = chunk * 4 + e;
      const float cs = cos_table[j], sn = sin_table[j];
      y[2 * e] = device::mul_rn(x[2 * e], cs) - device::mul_rn(x[2 * e + 1], sn);
      y[2 * e + 1] = device::mul_rn(x[2 * e], sn) + device::mul_rn(x[2 * e + 1], cs);
    }
    device::store_chunk(out, chunk, y);
  }
}

bool aligned16(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; }

}  // namespace

LaunchError rope3d_forward(const Rope3DParams& p, Stream stream) {
  if (p.num_tensors < 1 || p.num_tensors > 2 || p.batch <= 0 || p.batch > 65535 || p.grid_f <= 0 ||
      p.grid_h <= 0 || p.grid_w <= 0 || p.heads <= 0) {
    return "rope3d_forward: num_tensors 1 or 2; batch (<= 65535), grid and heads positive";
  }
  if (p.head_dim <= 0 || p.head_dim % 8 != 0 || p.head_dim > 2 * kMaxPairs || p.head_dim < 6) {
    return "rope3d_forward: head_dim must be a multiple of 8 in [8, 256]";
  }
  for (int i = 0; i < p.num_tensors; ++i) {
    const Rope3DTensor& t = p.tensors[i];
    const int64_t strides[] = {t.in_batch_stride,  t.in_row_stride,  t.in_head_stride,
                               t.out_batch_stride, t.out_row_stride, t.out_head_stride};
    for (int64_t s : strides) {
      if (s % 8 != 0) return "rope3d_forward: strides must be multiples of 8 elements";
    }
    if (!aligned16(t.in) || !aligned16(t.out))
      return "rope3d_forward: pointers not 16-byte aligned";
  }
  const int64_t len = int64_t{p.grid_f} * p.grid_h * p.grid_w;
  if (len > 0x7fffffff) return "rope3d_forward: sequence too long";
  const dim3 grid(static_cast<unsigned>(len), static_cast<unsigned>(p.batch));
  if (p.dtype == DType::kBFloat16) {
    auto* kernel = &rope3d_kernel<bf16>;
    RV_LAUNCH(kernel, grid, dim3(kThreads), 0, stream, p);
  } else {
    auto* kernel = &rope3d_kernel<fp16>;
    RV_LAUNCH(kernel, grid, dim3(kThreads), 0, stream, p);
  }
  return detail::last_launch_error();
}

}  // namespace rayvid::kernels::RAYVID_KERNEL_BACKEND
