// The CPU emulator's runtime: runs a CUDA kernel's own source, compiled by the host compiler,
// one block at a time, every CUDA thread as a fiber (ucontext) on the calling OS thread.
// kernels/common/portability.cuh maps the CUDA vocabulary (threadIdx, __syncthreads,
// __shfl_xor_sync, mma, ldmatrix, cp.async, atomics) onto the functions declared here.
// Why fibers and what is checked: kernels/emu/README.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace rayvid::emu {

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr Dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

// The order in which the emulator runs the threads of a block between synchronisation points
// (and the blocks of a grid). A kernel whose result depends on it has a race.
//   kForward / kReverse / kShuffled: round robin over all threads, one synchronisation point per
//     turn, in thread order, reverse order or a seeded permutation (warps advance in near
//     lockstep);
//   kWarpByWarp / kWarpByWarpReverse: one warp runs alone until all its lanes wait at
//     __syncthreads (or exit) before the next warp starts: the widest gap between warps, which
//     exposes a missing __syncthreads between warps that share a buffer.
enum class Schedule { kForward, kReverse, kShuffled, kWarpByWarp, kWarpByWarpReverse };

// When an emulated cp.async copy lands: kAtWait (default) as late as the GPU may land it (a
// missing wait reads stale data), kAtIssue as early as it may (a buffer refilled before every
// warp is done reading it shows).
enum class CpAsyncLanding { kAtWait, kAtIssue };

// Thrown by launch() for what a GPU would report as a fault or a hang: a barrier or warp
// collective that not every thread reaches, divergent collectives, shared memory over the limit,
// a cp.async never waited for.
class EmuError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Schedule for the following launches on this OS thread; seed for kShuffled. The default comes
// from RAYVID_EMU_SCHEDULE (forward, reverse, shuffled, warp, warp-reverse), else kForward.
void set_schedule(Schedule schedule, uint64_t seed = 0);
Schedule schedule();
// cp.async landing for the following launches on this OS thread. The default comes from
// RAYVID_EMU_CP_ASYNC (wait, issue), else kAtWait.
void set_cp_async_landing(CpAsyncLanding landing);
CpAsyncLanding cp_async_landing();

// Largest dynamic shared memory a kernel may use (cudaFuncSetAttribute's
// MaxDynamicSharedMemorySize); 48 KiB unless raised, as on the GPU.
void set_max_dynamic_smem(const void* kernel, size_t bytes);

// Runs `body` (the kernel call) for every thread of every block. Dynamic shared memory is a fresh
// buffer per block filled with 0xFF bytes (NaN as fp32/fp16/bf16), so unwritten reads show.
// Throws EmuError.
void launch(const void* kernel, Dim3 grid, Dim3 block, size_t dynamic_smem,
            const std::function<void()>& body);

// Statistics of the last launch (emulator self-tests and timing notes).
struct LaunchStats {
  uint64_t context_switches = 0;
  uint64_t barriers = 0;
  uint64_t warp_collectives = 0;
};
LaunchStats last_launch_stats();

// ---- inside a kernel: the calling CUDA thread's view -------------------------------------------
const Dim3& thread_idx();
const Dim3& block_idx();
const Dim3& block_dim();
const Dim3& grid_dim();
void* dynamic_smem();

void syncthreads();
int syncthreads_count(int predicate);
void syncwarp(unsigned mask);

// Warp collectives: every lane in `mask` must call the same one; 32-bit payloads.
uint32_t shfl(unsigned mask, uint32_t value, int src_lane, int width);
uint32_t shfl_xor(unsigned mask, uint32_t value, int lane_mask, int width);
uint32_t shfl_down(unsigned mask, uint32_t value, unsigned delta, int width);
uint32_t shfl_up(unsigned mask, uint32_t value, unsigned delta, int width);
unsigned ballot(unsigned mask, int predicate);

// mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}.{bf16,f16}.f32 with the per-lane fragment
// layout of the PTX ISA ("Matrix Fragments for mma.m16n8k16 with floating point type").
enum class MmaType { kFloat16, kBFloat16 };
void mma_m16n8k16(MmaType type, float d[4], const uint32_t a[4], const uint32_t b[2],
                  const float c[4]);
// ldmatrix.sync.aligned.m8n8.{x1,x2,x4}[.trans].shared.b16: lane i supplies the address of row
// i % 8 of matrix i / 8; register j of each lane receives its piece of matrix j.
void ldmatrix(uint32_t* regs, int num_matrices, bool trans, const void* row_address);

// cp.async.cg.shared.global (16 bytes, zero-filled past src_bytes): queued per thread and only
// copied when cp.async.wait_group lets it complete, as on the GPU, so a missing wait reads stale
// shared memory instead of silently working.
void cp_async_16(void* smem_dst, const void* global_src, int src_bytes);
void cp_async_commit();
void cp_async_wait(int pending_groups_allowed);

}  // namespace rayvid::emu
