// Flash attention forward, FlashAttention-2 style, on mma.sync m16n8k16 tensor cores (sm_80+).
//
// Computes  out[b, i, h, :] = sum_j softmax_j(q[b, i, h, :] . k[b, j, h, :] * scale) v[b, j, h, :]
// non-causal, for bf16 or fp16 inputs with fp32 accumulation and fp32 softmax statistics (online
// softmax: running row max m and row sum l, rescaling the accumulator when m grows). P is rounded
// to the input dtype before the P.V product, as in FlashAttention.
//
// Layout: [batch, len, heads, head_dim] with element strides from FlashAttentionParams; head_dim
// contiguous. Shipped instantiations: {bf16, fp16} x head_dim {64 (tiny test models), 128 (Wan)}.
//
// Work split: grid (ceil(q_len / 64), heads, batch); one block of 4 warps owns 64 query rows, each
// warp 16 rows, and walks all keys in tiles of 64:
//   Q tile -> shared (through the K buffer) -> ldmatrix into registers once (head_dim/16 A frags);
//   per key tile: S = Q K^T (ldmatrix K, 4 x head_dim/16 x 2 mma per warp), mask keys >= kv_len,
//   online softmax on the S fragments (row statistics reduced over the 4 lanes of a quad), then
//   O += P V with P taken straight from the S accumulators as A fragments (no shared round trip)
//   and V through ldmatrix.trans. K and V tiles arrive by cp.async: V(n) loads while S(n) is
//   computed, K(n+1) while P(n) V(n) is.
//   Rows/keys past the end are zero-filled on load; padded keys get -inf scores; padded query
//   rows are not stored.
// Shared memory: K and V tiles, 64 rows x (head_dim + 8) elements each (the 16-byte row pad puts
// the 8 rows of an ldmatrix in different banks): 18,432 B (d=64), 34,816 B (d=128); no opt-in.
// Registers: accumulators O = head_dim/2 fp32, S = 32 fp32, Q fragments = head_dim/4 .b32 per
// thread. Budgets (ptxas_budget test, every target; no spills, no stack): <= 168 (d=64) and <= 224
// (d=128) registers so that 2 blocks fit an SM; ptxas 13.0 reports 143 / 190 (sm_80), 136 / 198
// (sm_90a).
// ptxas-budget: flash_attention_kernel<__nv_bfloat16, 64> registers=168 smem=0
// ptxas-budget: flash_attention_kernel<__half, 64> registers=168 smem=0
// ptxas-budget: flash_attention_kernel<__nv_bfloat16, 128> registers=224 smem=0
// ptxas-budget: flash_attention_kernel<__half, 128> registers=224 smem=0
//
// Expected bound: 4 * batch * heads * q_len * kv_len * head_dim FLOP (two GEMMs); Wan2.1-14B
// self-attention at 720p (1 x 40 heads x 32,760^2 x 128) is 2.20e13 FLOP = 22.2 ms at the H100's
// 989 TFLOP/s dense bf16; mma.sync kernels of this shape reach roughly 35-50% of that.
//
// Tested by tests/kernels/flash_attention_test.cpp: this file, compiled by g++ and run by the CPU
// emulator (kernels/emu), against the fp32 ATen reference, with the FlashAttention tolerance (at
// most 2x the error of naive attention in the same dtype); natively the same test on a GPU.
#include "common/device.cuh"
#include "flash_attention/flash_attention.cuh"

namespace rayvid::kernels::RAYVID_KERNEL_BACKEND {
namespace {

using device::bf16;
using device::fp16;

constexpr int kBlockM = 64;  // query rows per block
constexpr int kBlockN = 64;  // keys per tile
constexpr int kWarps = 4;    // 16 query rows each
constexpr int kThreads = kWarps * 32;
constexpr float kLog2e = 1.4426950408889634f;

template <int kHeadDim>
constexpr int smem_row() {
  return kHeadDim + 8;  // elements; 16-byte pad against ldmatrix bank conflicts
}
template <int kHeadDim>
constexpr size_t smem_bytes() {
  return size_t{2} * kBlockN * smem_row<kHeadDim>() * 2;
}

// Copies rows [row0, row0 + 64) of one head into a 64 x smem_row tile, zero-filling rows >= len.
template <typename T, int kHeadDim>
__device__ __forceinline__ void load_tile_async(T* tile, const T* head_base, int64_t row_stride,
                                                int row0, int len) {
  constexpr int kChunksPerRow = kHeadDim / 8;  // 16-byte chunks
  constexpr int kChunks = kBlockN * kChunksPerRow;
  static_assert(kChunks % kThreads == 0, "every thread copies the same number of chunks");
  for (int c = static_cast<int>(threadIdx.x); c < kChunks; c += kThreads) {
    const int row = c / kChunksPerRow, col = (c % kChunksPerRow) * 8;
    const bool valid = row0 + row < len;
    const T* src = valid ? head_base + (row0 + row) * row_stride + col : head_base;
    device::cp_async_16(&tile[row * smem_row<kHeadDim>() + col], src, valid);
  }
}

template <typename T, int kHeadDim>
__global__ void __launch_bounds__(kThreads, 2)
    flash_attention_kernel(const FlashAttentionParams p) {
  constexpr int kRow = smem_row<kHeadDim>();
  constexpr int kSteps = kHeadDim / 16;  // k-steps of Q K^T, also pairs of 8-wide d tiles in P V
  RV_DYNAMIC_SMEM(T, smem);
  T* k_tile = smem;
  T* v_tile = smem + kBlockN * kRow;

  const int m_block = static_cast<int>(blockIdx.x), head = static_cast<int>(blockIdx.y);
  const int batch = static_cast<int>(blockIdx.z);
  const int warp = static_cast<int>(threadIdx.x / 32), lane = static_cast<int>(threadIdx.x % 32);
  const int ld_m = lane / 8, ld_r = lane % 8;  // ldmatrix: this lane's matrix and row in it
  const T* q = static_cast<const T*>(p.q) + batch * p.q_batch_stride + head * p.q_head_stride;
  const T* k = static_cast<const T*>(p.k) + batch * p.k_batch_stride + head * p.k_head_stride;
  const T* v = static_cast<const T*>(p.v) + batch * p.v_batch_stride + head * p.v_head_stride;

  // Q: shared (K buffer) -> A fragments in registers for the whole kernel.
  load_tile_async<T, kHeadDim>(k_tile, q, p.q_row_stride, m_block * kBlockM, p.q_len);
  device::cp_async_commit();
  device::cp_async_wait<0>();
  __syncthreads();
  uint32_t q_frag[kSteps][4];
  for (int ks = 0; ks < kSteps; ++ks) {
    device::ldmatrix_x4<false>(
        q_frag[ks], &k_tile[(warp * 16 + (ld_m % 2) * 8 + ld_r) * kRow + ks * 16 + (ld_m / 2) * 8]);
  }
  __syncthreads();  // every warp has its Q before K overwrites the buffer

  const int num_n_blocks = (p.kv_len + kBlockN - 1) / kBlockN;
  const float scale_log2 = p.softmax_scale * kLog2e;
  float o[kHeadDim / 8][4];
  for (auto& tile : o) tile[0] = tile[1] = tile[2] = tile[3] = 0.0f;
  float row_max[2] = {-INFINITY, -INFINITY};  // rows g and g + 8 of the warp's 16
  float row_sum[2] = {0.0f, 0.0f};            // this lane's part; quad-reduced at the end

  load_tile_async<T, kHeadDim>(k_tile, k, p.k_row_stride, 0, p.kv_len);
  device::cp_async_commit();
  for (int n_block = 0; n_block < num_n_blocks; ++n_block) {
    const int n0 = n_block * kBlockN;
    load_tile_async<T, kHeadDim>(v_tile, v, p.v_row_stride, n0, p.kv_len);
    device::cp_async_commit();
    device::cp_async_wait<1>();  // K(n) has landed; V(n) may still be in flight
    __syncthreads();

    // S = Q K^T: 8 n-tiles of 8 keys, accumulated over head_dim in k-steps of 16.
    float s[kBlockN / 8][4];
    for (auto& tile : s) tile[0] = tile[1] = tile[2] = tile[3] = 0.0f;
    for (int np = 0; np < kBlockN / 16; ++np) {
      for (int ks = 0; ks < kSteps; ++ks) {
        uint32_t kf[4];  // b fragments of n-tiles 2np (kf[0..1]) and 2np+1 (kf[2..3])
        device::ldmatrix_x4<false>(
            kf, &k_tile[(np * 16 + (ld_m / 2) * 8 + ld_r) * kRow + ks * 16 + (ld_m % 2) * 8]);
        device::mma_m16n8k16<T>(s[2 * np], q_frag[ks], &kf[0], s[2 * np]);
        device::mma_m16n8k16<T>(s[2 * np + 1], q_frag[ks], &kf[2], s[2 * np + 1]);
      }
    }
    if (n0 + kBlockN > p.kv_len) {  // the last tile: keys past kv_len get no weight
      for (int nt = 0; nt < kBlockN / 8; ++nt) {
        const int col = n0 + nt * 8 + (lane % 4) * 2;
        if (col >= p.kv_len) s[nt][0] = s[nt][2] = -INFINITY;
        if (col + 1 >= p.kv_len) s[nt][1] = s[nt][3] = -INFINITY;
      }
    }

    // Online softmax in the log2 domain; c0,c1 belong to row g, c2,c3 to row g + 8.
    for (int r = 0; r < 2; ++r) {
      float tile_max = -INFINITY;
      for (auto& tile : s) tile_max = fmaxf(tile_max, fmaxf(tile[2 * r], tile[2 * r + 1]));
      const float new_max = fmaxf(row_max[r], device::quad_max(tile_max));  // finite: >= 1 key
      const float alpha = exp2f((row_max[r] - new_max) * scale_log2);
      row_max[r] = new_max;
      const float shift = new_max * scale_log2;
      float tile_sum = 0.0f;
      for (auto& tile : s) {
        tile[2 * r] = exp2f(tile[2 * r] * scale_log2 - shift);
        tile[2 * r + 1] = exp2f(tile[2 * r + 1] * scale_log2 - shift);
        tile_sum += tile[2 * r] + tile[2 * r + 1];
      }
      row_sum[r] = row_sum[r] * alpha + tile_sum;
      for (auto& tile : o) {
        tile[2 * r] *= alpha;
        tile[2 * r + 1] *= alpha;
      }
    }

    __syncthreads();  // every warp is done with K(n)
    if (n_block + 1 < num_n_blocks) {
      load_tile_async<T, kHeadDim>(k_tile, k, p.k_row_stride, n0 + kBlockN, p.kv_len);
    }
    device::cp_async_commit();   // possibly empty: keeps the group count uniform
    device::cp_async_wait<1>();  // V(n) has landed; K(n+1) may still be in flight
    __syncthreads();

    // O += P V: the S accumulators of n-tiles 2ks, 2ks+1 are exactly the A fragment of k-step ks.
    for (int ks = 0; ks < kBlockN / 16; ++ks) {
      const uint32_t pf[4] = {device::pack2<T>(s[2 * ks][0], s[2 * ks][1]),
                              device::pack2<T>(s[2 * ks][2], s[2 * ks][3]),
                              device::pack2<T>(s[2 * ks + 1][0], s[2 * ks + 1][1]),
                              device::pack2<T>(s[2 * ks + 1][2], s[2 * ks + 1][3])};
      for (int dp = 0; dp < kSteps; ++dp) {
        uint32_t vf[4];  // b fragments of d-tiles 2dp (vf[0..1]) and 2dp+1 (vf[2..3])
        device::ldmatrix_x4<true>(
            vf, &v_tile[(ks * 16 + (ld_m % 2) * 8 + ld_r) * kRow + dp * 16 + (ld_m / 2) * 8]);
        device::mma_m16n8k16<T>(o[2 * dp], pf, &vf[0], o[2 * dp]);
        device::mma_m16n8k16<T>(o[2 * dp + 1], pf, &vf[2], o[2 * dp + 1]);
      }
    }
    __syncthreads();  // every warp is done with V(n) before V(n+1) is loaded
  }
  device::cp_async_wait<0>();

  // Epilogue: divide by the row sums and store this lane's two rows, 2 elements per store.
  T* out = static_cast<T*>(p.out) + batch * p.out_batch_stride + head * p.out_head_stride;
  const int g = lane / 4, t = lane % 4;
  for (int r = 0; r < 2; ++r) {
    const int row = m_block * kBlockM + warp * 16 + g + 8 * r;
    const float inv_sum = 1.0f / device::quad_sum(row_sum[r]);
    if (row >= p.q_len) continue;
    T* out_row = out + row * p.out_row_stride;
    for (int nt = 0; nt < kHeadDim / 8; ++nt) {
      const uint32_t packed = device::pack2<T>(o[nt][2 * r] * inv_sum, o[nt][2 * r + 1] * inv_sum);
      *reinterpret_cast<uint32_t*>(&out_row[nt * 8 + 2 * t]) = packed;
    }
  }
}

template <typename T, int kHeadDim>
LaunchError launch(const FlashAttentionParams& p, Stream stream) {
  auto* kernel = &flash_attention_kernel<T, kHeadDim>;
  if (LaunchError e = detail::allow_dynamic_smem(kernel, smem_bytes<kHeadDim>())) return e;
  const dim3 grid((p.q_len + kBlockM - 1) / kBlockM, p.heads, p.batch);
  RV_LAUNCH(kernel, grid, dim3(kThreads), smem_bytes<kHeadDim>(), stream, p);
  return detail::last_launch_error();
}

bool aligned16(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; }

}  // namespace

LaunchError flash_attention_forward(const FlashAttentionParams& p, Stream stream) {
  if (p.batch <= 0 || p.heads <= 0 || p.q_len <= 0 || p.kv_len <= 0) {
    return "flash_attention_forward: batch, heads, q_len and kv_len must be positive";
  }
  if (p.batch > 65535 || p.heads > 65535) {
    return "flash_attention_forward: batch and heads must be at most 65535 (grid limits)";
  }
  if (!aligned16(p.q) || !aligned16(p.k) || !aligned16(p.v) || !aligned16(p.out)) {
    return "flash_attention_forward: q, k, v and out must be 16-byte aligned";
  }
  const int64_t strides[] = {p.q_batch_stride,   p.q_row_stride,   p.q_head_stride,
                             p.k_batch_stride,   p.k_row_stride,   p.k_head_stride,
                             p.v_batch_stride,   p.v_row_stride,   p.v_head_stride,
                             p.out_batch_stride, p.out_row_stride, p.out_head_stride};
  for (int64_t s : strides) {
    if (s % 8 != 0) return "flash_attention_forward: strides must be multiples of 8 elements";
  }
  if (p.dtype == DType::kBFloat16 && p.head_dim == 128) return launch<bf16, 128>(p, stream);
  if (p.dtype == DType::kBFloat16 && p.head_dim == 64) return launch<bf16, 64>(p, stream);
  if (p.dtype == DType::kFloat16 && p.head_dim == 128) return launch<fp16, 128>(p, stream);
  if (p.dtype == DType::kFloat16 && p.head_dim == 64) return launch<fp16, 64>(p, stream);
  return "flash_attention_forward: head_dim must be 64 or 128";
}

}  // namespace rayvid::kernels::RAYVID_KERNEL_BACKEND
