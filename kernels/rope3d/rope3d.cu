// Fused 3D RoPE for q and k of the Wan DiT (diffusers' WanRotaryPosEmbed + apply_rotary_emb).
//
// Computes, for every token l, head and pair j = (2j, 2j + 1):
//   out[2j] = x[2j] cos[l, j] - x[2j+1] sin[l, j],  out[2j+1] = x[2j] sin[l, j] + x[2j+1] cos[l, j]
// with the fp32 cos/sin table of the latent grid (rope3d.cuh), which the DiT builds once per grid
// in fp64 as diffusers does and reuses for every block and step. Products are rounded separately
// (no fma) and the sums in fp32, so the result is the reference's bit for bit.
//
// Why the table and not the angles computed here: the table is exact by construction (the same
// fp64 math as diffusers, done once on the host side), while fp64 pow/sin/cos in the kernel runs
// at 1/64 rate on consumer GPUs; the table costs len * head_dim * 4 bytes of reads (Wan 14B at
// 720p: 16 MB against 1.3 GB of q/k traffic).
// Why a kernel of its own and not inside the attention load: the attention kernel reloads each K
// tile for every 64-query block (q_len / 64 times), so rotating there multiplies the work by
// hundreds and adds registers to a kernel at 190+; cross-attention needs no RoPE at all. The
// kernel is memory-bound at 2 reads + 2 writes of q and k (~0.4 ms on an H100 for Wan 14B at
// 720p, under 2% of the attention it feeds).
//
// Layout: [batch, len, heads, head_dim] with element strides, head_dim contiguous; in place
// allowed. Work split: grid (len, batch), 128 threads walking (tensor, head, 8-element chunk)
// with 16-byte loads/stores of x and of the chunk's 4 cos and 4 sin values.
// Budget: <= 64 registers (ptxas_budget), no shared memory, no spills.
// Tested by tests/kernels/rope3d_test.cpp (emulated; natively with label gpu) against
// ops::rope3d_reference, the op's one reference.
// ptxas-budget: rope3d_kernel<__nv_bfloat16> registers=64 smem=0
// ptxas-budget: rope3d_kernel<__half> registers=64 smem=0
#include "common/row_kernels.cuh"
#include "rope3d/rope3d.cuh"

namespace rayvid::kernels::RAYVID_KERNEL_BACKEND {
namespace {

using device::bf16;
using device::fp16;

constexpr int kThreads = 128;
constexpr int kMaxHeadDim = 256;

__device__ __forceinline__ void load4(const float* p, float out[4]) {
  const float4 v = *reinterpret_cast<const float4*>(p);
  out[0] = v.x, out[1] = v.y, out[2] = v.z, out[3] = v.w;
}

template <typename T>
__global__ void __launch_bounds__(kThreads) rope3d_kernel(const Rope3DParams p) {
  const int64_t l = blockIdx.x, b = blockIdx.y;
  const int pairs = p.head_dim / 2;
  const float* cos_row = p.cos + l * pairs;
  const float* sin_row = p.sin + l * pairs;
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
    float x[8], y[8], cs[4], sn[4];
    device::load_chunk(in, chunk, p.head_dim, x);
    load4(cos_row + chunk * 4, cs);
    load4(sin_row + chunk * 4, sn);
    for (int e = 0; e < 4; ++e) {
      y[2 * e] = device::mul_rn(x[2 * e], cs[e]) - device::mul_rn(x[2 * e + 1], sn[e]);
      y[2 * e + 1] = device::mul_rn(x[2 * e], sn[e]) + device::mul_rn(x[2 * e + 1], cs[e]);
    }
    device::store_chunk(out, chunk, y);
  }
}

bool aligned16(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; }

}  // namespace

LaunchError rope3d_forward(const Rope3DParams& p, Stream stream) {
  if (p.num_tensors < 1 || p.num_tensors > 2 || p.batch <= 0 || p.batch > 65535 || p.len <= 0 ||
      p.heads <= 0) {
    return "rope3d_forward: num_tensors 1 or 2; batch (<= 65535), len and heads positive";
  }
  if (p.head_dim <= 0 || p.head_dim % 8 != 0 || p.head_dim > kMaxHeadDim) {
    return "rope3d_forward: head_dim must be a multiple of 8 in [8, 256]";
  }
  if (p.cos == nullptr || p.sin == nullptr || !aligned16(p.cos) || !aligned16(p.sin)) {
    return "rope3d_forward: the cos/sin table must be given, 16-byte aligned";
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
  const dim3 grid(static_cast<unsigned>(p.len), static_cast<unsigned>(p.batch));
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
