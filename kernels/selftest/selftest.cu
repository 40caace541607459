// Emulator self-test kernels (see selftest.cuh). Written as ordinary CUDA: the same file is
// compiled by nvcc into the CUDA library and by g++ into the emulator library.
#include "common/device.cuh"
#include "selftest/selftest.cuh"

namespace rayvid::kernels::RAYVID_KERNEL_BACKEND {
namespace {

using device::bf16;
using device::fp16;

__global__ void __launch_bounds__(256) block_sum_kernel(const float* in, int n, float* out) {
  __shared__ float partial[256];
  const int i = static_cast<int>(blockIdx.x * 256 + threadIdx.x);
  partial[threadIdx.x] = i < n ? in[i] : 0.0f;
  __syncthreads();
  for (unsigned stride = 128; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = partial[0];
}

__global__ void __launch_bounds__(128) block_scan_kernel(const int* in, int n, int* out) {
  __shared__ int warp_totals[4];
  const int i = static_cast<int>(blockIdx.x * 128 + threadIdx.x);
  const int lane = static_cast<int>(threadIdx.x % 32), warp = static_cast<int>(threadIdx.x / 32);
  int v = i < n ? in[i] : 0;
  for (int offset = 1; offset < 32; offset *= 2) {
    const int up = __shfl_up_sync(0xffffffffu, v, offset);
    if (lane >= offset) v += up;
  }
  if (lane == 31) warp_totals[warp] = v;
  __syncthreads();
  for (int w = 0; w < warp; ++w) v += warp_totals[w];
  if (i < n) out[i] = v;
}

__global__ void __launch_bounds__(256)
    transpose_kernel(const float* in, int rows, int cols, float* out) {
  __shared__ float tile[32][33];  // +1 column: the column reads hit 32 different banks
  const int c0 = static_cast<int>(blockIdx.x * 32), r0 = static_cast<int>(blockIdx.y * 32);
  for (int dy = static_cast<int>(threadIdx.y); dy < 32; dy += 8) {
    const int r = r0 + dy, c = c0 + static_cast<int>(threadIdx.x);
    if (r < rows && c < cols) tile[dy][threadIdx.x] = in[static_cast<size_t>(r) * cols + c];
  }
  __syncthreads();
  for (int dy = static_cast<int>(threadIdx.y); dy < 32; dy += 8) {
    const int c = c0 + dy, r = r0 + static_cast<int>(threadIdx.x);
    if (r < rows && c < cols) out[static_cast<size_t>(c) * rows + r] = tile[threadIdx.x][dy];
  }
}

template <typename T>
__device__ uint32_t gather2(const T* m, int ld, int row, int col, int row_step, int col_step) {
  const T lo = m[row * ld + col], hi = m[(row + row_step) * ld + col + col_step];
  uint16_t lo_bits, hi_bits;
  memcpy(&lo_bits, &lo, 2);
  memcpy(&hi_bits, &hi, 2);
  return static_cast<uint32_t>(lo_bits) | (static_cast<uint32_t>(hi_bits) << 16);
}

template <typename T>
__global__ void __launch_bounds__(32)
    mma_tile_kernel(const T* a, const T* b, const float* c, float* d, bool use_ldmatrix) {
  __shared__ __align__(16) T a_smem[16 * 16];
  __shared__ __align__(16) T b_smem[16 * 16];
  const int lane = static_cast<int>(threadIdx.x);
  const int g = lane / 4, t = lane % 4;  // groupID, threadID_in_group
  uint32_t a_frag[4], b_frag[2][2];
  if (use_ldmatrix) {
    for (int i = lane; i < 256; i += 32) {
      a_smem[i] = a[i];
      b_smem[i] = b[i];
    }
    __syncwarp();
    // A: matrices (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15).
    const int m = lane / 8, r = lane % 8;
    device::ldmatrix_x4<false>(a_frag, &a_smem[((m % 2) * 8 + r) * 16 + (m / 2) * 8]);
    // B (k x n, row-major) transposed: matrices (k 0-7, n 0-7), (k 8-15, n 0-7), (k 0-7, n 8-15),
    // (k 8-15, n 8-15) -> b_frag[0] = regs 0,1 and b_frag[1] = regs 2,3.
    uint32_t regs[4];
    device::ldmatrix_x4<true>(regs, &b_smem[((m % 2) * 8 + r) * 16 + (m / 2) * 8]);
    b_frag[0][0] = regs[0];
    b_frag[0][1] = regs[1];
    b_frag[1][0] = regs[2];
    b_frag[1][1] = regs[3];
  } else {
    // PTX ISA, mma.m16n8k16 .f16/.bf16: a_i row = g (+8 for a2,a3,a6,a7), col = 2t + (i & 1)
    // (+8 for a4..a7); b_i row (k) = 2t + (i & 1) (+8 for b2,b3), col (n) = g.
    a_frag[0] = gather2(a, 16, g, 2 * t, 0, 1);
    a_frag[1] = gather2(a, 16, g + 8, 2 * t, 0, 1);
    a_frag[2] = gather2(a, 16, g, 2 * t + 8, 0, 1);
    a_frag[3] = gather2(a, 16, g + 8, 2 * t + 8, 0, 1);
    for (int nt = 0; nt < 2; ++nt) {
      b_frag[nt][0] = gather2(b, 16, 2 * t, nt * 8 + g, 1, 0);
      b_frag[nt][1] = gather2(b, 16, 2 * t + 8, nt * 8 + g, 1, 0);
    }
  }
  for (int nt = 0; nt < 2; ++nt) {
    // c_i row = g (+8 for c2, c3), col = 2t + (i & 1).
    const int col = nt * 8 + 2 * t;
    float acc[4] = {c[g * 16 + col], c[g * 16 + col + 1], c[(g + 8) * 16 + col],
                    c[(g + 8) * 16 + col + 1]};
    device::mma_m16n8k16<T>(acc, a_frag, b_frag[nt], acc);
    d[g * 16 + col] = acc[0];
    d[g * 16 + col + 1] = acc[1];
    d[(g + 8) * 16 + col] = acc[2];
    d[(g + 8) * 16 + col + 1] = acc[3];
  }
}

__global__ void __launch_bounds__(64) rotate_kernel(const float* in, float* out, SelftestBug bug) {
  RV_DYNAMIC_SMEM(float, rotate_smem);
  const int i = static_cast<int>(threadIdx.x);
  if (bug == SelftestBug::kCpAsyncNotWaited) {
    if (i % 4 == 0) device::cp_async_16(&rotate_smem[i], &in[i], true);
    device::cp_async_commit();  // and no cp_async_wait: the copy never lands
  } else {
    rotate_smem[i] = in[i];
  }
  if (bug != SelftestBug::kMissingBarrier) __syncthreads();
  float v = rotate_smem[(i + 1) % 64];
  if (bug == SelftestBug::kDivergentShuffle && i % 32 < 16) {
    v = __shfl_xor_sync(0xffffffffu, v, 1);  // lanes 16..31 never arrive
    v = __shfl_xor_sync(0xffffffffu, v, 1);
  }
  out[i] = v;
}

__global__ void __launch_bounds__(64)
    read_past_end_kernel(const float* in, float* out, OutOfBoundsRead where) {
  RV_DYNAMIC_SMEM(float, staged);
  const int i = static_cast<int>(threadIdx.x);
  float window[4];  // indexed at run time: kept in (local) memory, live across the barrier
  for (int k = 0; k < 4; ++k) window[k] = in[(i + k) % 64];
  staged[i] = in[where == OutOfBoundsRead::kGlobal ? i + 1 : i];  // in[64] for thread 63
  __syncthreads();
  const float neighbour = staged[where == OutOfBoundsRead::kDynamicShared ? i + 1 : (i + 1) % 64];
  // Through a pointer, as kernels walk their fragments: UBSan's array-bounds check cannot see
  // this read, only ASan's stack redzones can. Thread 32, because it waits at the barrier under
  // every emulator schedule (it is never the last to arrive), so its frame has been switched out
  // and back in between writing `window` and this read.
  const float* window_ptr = window;
  const float own = window_ptr[where == OutOfBoundsRead::kLocal && i == 32 ? 4 : i % 4];
  out[i] = neighbour + own;
}

}  // namespace

LaunchError selftest_block_sum(const float* in, int n, float* out, Stream stream) {
  if (n <= 0) return "selftest_block_sum: n must be positive";
  auto* kernel = &block_sum_kernel;
  RV_LAUNCH(kernel, dim3((n + 255) / 256), dim3(256), 0, stream, in, n, out);
  return detail::last_launch_error();
}

LaunchError selftest_block_scan(const int* in, int n, int* out, Stream stream) {
  if (n <= 0) return "selftest_block_scan: n must be positive";
  auto* kernel = &block_scan_kernel;
  RV_LAUNCH(kernel, dim3((n + 127) / 128), dim3(128), 0, stream, in, n, out);
  return detail::last_launch_error();
}

LaunchError selftest_transpose(const float* in, int rows, int cols, float* out, Stream stream) {
  if (rows <= 0 || cols <= 0) return "selftest_transpose: empty matrix";
  auto* kernel = &transpose_kernel;
  RV_LAUNCH(kernel, dim3((cols + 31) / 32, (rows + 31) / 32), dim3(32, 8), 0, stream, in, rows,
            cols, out);
  return detail::last_launch_error();
}

LaunchError selftest_mma_tile(DType dtype, const void* a, const void* b, const float* c, float* d,
                              bool use_ldmatrix, Stream stream) {
  if (dtype == DType::kBFloat16) {
    auto* kernel = &mma_tile_kernel<bf16>;
    RV_LAUNCH(kernel, dim3(1), dim3(32), 0, stream, static_cast<const bf16*>(a),
              static_cast<const bf16*>(b), c, d, use_ldmatrix);
  } else {
    auto* kernel = &mma_tile_kernel<fp16>;
    RV_LAUNCH(kernel, dim3(1), dim3(32), 0, stream, static_cast<const fp16*>(a),
              static_cast<const fp16*>(b), c, d, use_ldmatrix);
  }
  return detail::last_launch_error();
}

LaunchError selftest_rotate(const float* in, float* out, SelftestBug bug, Stream stream) {
  auto* kernel = &rotate_kernel;
  RV_LAUNCH(kernel, dim3(1), dim3(64), 64 * sizeof(float), stream, in, out, bug);
  return detail::last_launch_error();
}

LaunchError selftest_read_past_end(const float* in, float* out, OutOfBoundsRead where,
                                   Stream stream) {
  auto* kernel = &read_past_end_kernel;
  RV_LAUNCH(kernel, dim3(1), dim3(64), 64 * sizeof(float), stream, in, out, where);
  return detail::last_launch_error();
}

}  // namespace rayvid::kernels::RAYVID_KERNEL_BACKEND
