// Small kernels that exercise each part of the emulator (and, natively, the GPU it imitates):
// a shared-memory tree reduction, a shuffle-based scan, a shared-memory transpose, one mma tile
// with fragments built by hand from the PTX ISA's layout and by ldmatrix, and deliberately broken
// kernels (a missing barrier, a divergent shuffle, a cp.async never waited for, reads one past
// the end of a buffer). All pointers are
// device pointers (host pointers under the emulator). Tested by
// tests/kernels/emu_selftest_test.cpp.
#pragma once

#include "common/kernel_api.h"

namespace rayvid::kernels::RAYVID_KERNEL_BACKEND {

// out[b] = sum of in[b * 256 .. b * 256 + 255] (past n reads as 0), one block of 256 threads per b.
LaunchError selftest_block_sum(const float* in, int n, float* out, Stream stream);

// out = inclusive prefix sum of in within each block of 128 elements (warp scans by
// __shfl_up_sync, then warp totals through shared memory).
LaunchError selftest_block_scan(const int* in, int n, int* out, Stream stream);

// out[c][r] = in[r][c] for a rows x cols row-major matrix, through 32x33 shared-memory tiles.
LaunchError selftest_transpose(const float* in, int rows, int cols, float* out, Stream stream);

// d = a * b + c for a 16x16 (row-major), b 16x16 (row-major, k x n), c and d 16x16 fp32, as two
// m16n8k16 mma tiles of one warp. dtype: 16-bit type of a and b. use_ldmatrix: fragments from
// shared memory by ldmatrix (A) and ldmatrix.trans (B); otherwise each lane gathers its fragment
// from global memory with the PTX ISA's index formulas.
LaunchError selftest_mma_tile(DType dtype, const void* a, const void* b, const float* c, float* d,
                              bool use_ldmatrix, Stream stream);

enum class SelftestBug { kNone, kMissingBarrier, kDivergentShuffle, kCpAsyncNotWaited };
// out[i] = in[(i + 1) % 64] for 64 floats, through shared memory (one block of 64 threads); `bug`
// removes the barrier, lets half a warp skip a shuffle, or drops the cp.async wait.
LaunchError selftest_rotate(const float* in, float* out, SelftestBug bug, Stream stream);

// An out-of-bounds read on purpose, for the sanitizer build's proof that one fails the run
// (tests/kernels/sanitizer/, built only with RAYVID_SANITIZE=address...). One block of 64
// threads, 64 floats in and out: out[i] = in[(i + 1) % 64] + in[(i + i % 4) % 64], the first
// through dynamic shared memory, the second through a local array that stays live across the
// block's barrier. `where` makes one thread read one float past the end of: the global input
// (in[64], thread 63), the dynamic shared memory (element 64 of 64, thread 63) or its local array
// (element 4 of 4, thread 32, after the barrier).
enum class OutOfBoundsRead { kNone, kGlobal, kDynamicShared, kLocal };
LaunchError selftest_read_past_end(const float* in, float* out, OutOfBoundsRead where,
                                   Stream stream);

}  // namespace rayvid::kernels::RAYVID_KERNEL_BACKEND
