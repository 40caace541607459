// The emulator's scheduler: blocks run one after another; inside a block every CUDA thread is a
// ucontext fiber that runs until it reaches a synchronisation point (__syncthreads, a warp
// collective, exit), then hands control back to the scheduler, which resumes the next thread in
// the chosen order. A synchronisation point completes when every participant has arrived; a full
// round over the block in which nothing arrives anywhere is a deadlock and is reported.
#include "emu/emu.h"

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <sstream>
#include <unordered_map>
#include <vector>

// AddressSanitizer (clang: __has_feature, GCC: __SANITIZE_ADDRESS__). Under ASan every fiber
// switch is announced (__sanitizer_start/finish_switch_fiber), so ASan always knows which stack is
// running: stack redzones, __asan_handle_no_return (exceptions, [[noreturn]] calls) and fake
// stacks (detect_stack_use_after_return=1) then work on fiber stacks as on the thread's own.
#if defined(__SANITIZE_ADDRESS__)
#define RAYVID_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RAYVID_EMU_ASAN 1
#endif
#endif
#if defined(RAYVID_EMU_ASAN)
#include <dlfcn.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace rayvid::emu {
namespace {

#if defined(RAYVID_EMU_ASAN)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

// Kernels keep their fragments in local arrays; 256 KiB also covers unoptimised (-O0) builds.
constexpr size_t kStackBytes = 256 * 1024;
constexpr size_t kDefaultMaxDynamicSmem = 48 * 1024;
constexpr size_t kHardMaxDynamicSmem = 227 * 1024;  // sm_90's largest opt-in

struct CpAsyncCopy {
  void* dst;
  const void* src;
  int src_bytes;
};

struct FiberStack {
  void* base = nullptr;  // mmap'ed, lowest page is a guard page
  size_t bytes = 0;
  // Under ASan: the stack may hold the poisoned redzones of frames that never returned (a fiber
  // abandoned by a failed launch), so it is unpoisoned before its next use.
  bool dirty = true;
  FiberStack() {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    bytes = kStackBytes + page;
    base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                -1, 0);
    if (base == MAP_FAILED) throw EmuError("emulator: cannot map a fiber stack");
    mprotect(base, page, PROT_NONE);
  }
  FiberStack(const FiberStack&) = delete;
  FiberStack& operator=(const FiberStack&) = delete;
  ~FiberStack() { munmap(base, bytes); }
};

struct Fiber {
  ucontext_t context;
  void* asan_fake_stack = nullptr;  // ASan's fake stack of this fiber while it is switched out
  Dim3 thread_idx;
  unsigned linear = 0;
  bool done = false;
  bool at_barrier = false;  // waiting in __syncthreads for barrier_generation to move on
  uint64_t barrier_waiting_for = 0;
  std::vector<CpAsyncCopy> cp_open;                 // issued, not yet committed
  std::vector<std::vector<CpAsyncCopy>> cp_groups;  // committed, oldest first
};

struct WarpState {
  int kind = -1;  // the collective being gathered, -1 when none
  unsigned mask = 0;
  int arrived = 0;
  uint64_t generation = 0;
  unsigned existing = 0;  // lanes that exist in this warp (a partial last warp has fewer)
  uint32_t in[32][10];
  uint32_t out[32][4];
};

struct BlockState {
  Dim3 block_idx;
  std::vector<Fiber> fibers;
  std::vector<WarpState> warps;
  unsigned char* smem = nullptr;
  int live = 0;
  int barrier_arrived = 0;
  int barrier_accumulated = 0;
  int barrier_result = 0;
  uint64_t barrier_generation = 0;
  uint64_t progress = 0;
  std::string error;
  // Zeroed: ASan's swapcontext interceptor (if it is the one called) reads uc_stack of the target.
  ucontext_t scheduler{};
};

struct LaunchState {
  Dim3 grid, block;
  const std::function<void()>* body = nullptr;
  BlockState* block_state = nullptr;
  Fiber* current = nullptr;
  LaunchStats stats;
};

Schedule schedule_from_env() {
  const char* v = std::getenv("RAYVID_EMU_SCHEDULE");
  const std::string s = v ? v : "";
  if (s == "reverse") return Schedule::kReverse;
  if (s == "shuffled") return Schedule::kShuffled;
  if (s == "warp") return Schedule::kWarpByWarp;
  if (s == "warp-reverse") return Schedule::kWarpByWarpReverse;
  return Schedule::kForward;
}
CpAsyncLanding landing_from_env() {
  const char* v = std::getenv("RAYVID_EMU_CP_ASYNC");
  return v && std::string(v) == "issue" ? CpAsyncLanding::kAtIssue : CpAsyncLanding::kAtWait;
}

thread_local LaunchState* t_launch = nullptr;
thread_local Schedule t_schedule = schedule_from_env();
thread_local CpAsyncLanding t_landing = landing_from_env();
thread_local uint64_t t_seed = 0;
thread_local LaunchStats t_last_stats;
thread_local std::vector<std::unique_ptr<FiberStack>> t_stacks;  // reused across launches

std::mutex g_attribute_mutex;
std::unordered_map<const void*, size_t> g_max_dynamic_smem;

// ---- stack switches -----------------------------------------------------------------------------
// Every switch goes through switch_to(), which tells ASan (when compiled in) the stack it is about
// to run on: `save` receives this side's fake stack, nullptr when this side never resumes (a
// fiber that finished or failed); `bottom`/`size` are the target stack. after_switch() completes
// the switch on the side that now runs.
#if defined(RAYVID_EMU_ASAN)
// The scheduler's stack (the launching thread's), learnt when the first fiber starts.
thread_local const void* t_scheduler_stack_bottom = nullptr;
thread_local size_t t_scheduler_stack_size = 0;

// glibc's swapcontext itself. ASan's interceptor of swapcontext clears the shadow of the whole
// target stack on every switch, which would drop the redzones of a kernel's local arrays each time
// its thread resumes after a barrier; with the switches announced above it has nothing left to do.
using SwapContextFn = int (*)(ucontext_t*, const ucontext_t*);
SwapContextFn libc_swapcontext() {
  static const SwapContextFn fn = [] {
    void* libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    void* sym = libc ? dlsym(libc, "swapcontext") : nullptr;
    return sym ? reinterpret_cast<SwapContextFn>(sym) : &::swapcontext;
  }();
  return fn;
}
#endif

void switch_to(ucontext_t* from, const ucontext_t* to, void** save, const void* bottom,
               size_t size) {
#if defined(RAYVID_EMU_ASAN)
  __sanitizer_start_switch_fiber(save, bottom, size);
  libc_swapcontext()(from, to);
#else
  (void)save;
  (void)bottom;
  (void)size;
  swapcontext(from, to);
#endif
}
void after_switch(void* saved) {
#if defined(RAYVID_EMU_ASAN)
  __sanitizer_finish_switch_fiber(saved, nullptr, nullptr);
#else
  (void)saved;
#endif
}
// From the running fiber back to the scheduler; `resumable`: the fiber will be resumed later.
void switch_to_scheduler(ucontext_t* from, const ucontext_t* scheduler, Fiber& fiber,
                         bool resumable) {
#if defined(RAYVID_EMU_ASAN)
  switch_to(from, scheduler, resumable ? &fiber.asan_fake_stack : nullptr, t_scheduler_stack_bottom,
            t_scheduler_stack_size);
#else
  switch_to(from, scheduler, nullptr, nullptr, 0);
#endif
  if (resumable) after_switch(fiber.asan_fake_stack);
}

LaunchState& launch_state() {
  if (t_launch == nullptr) {
    std::fputs("rayvid emulator: a device function was called outside emu::launch\n", stderr);
    std::abort();
  }
  return *t_launch;
}

void yield() {
  LaunchState& l = *t_launch;
  ++l.stats.context_switches;
  switch_to_scheduler(&l.current->context, &l.block_state->scheduler, *l.current, true);
}

// Reports an error of the running kernel: the scheduler abandons the launch and throws. The
// failing fiber is never resumed, so nothing on its stack is destroyed: `message` is a literal and
// the message is built in a scope that ends before the switch, so no heap memory is left owned by
// the abandoned frames (LeakSanitizer would report it).
[[noreturn]] void fail(const char* message) {
  LaunchState& l = *t_launch;
  BlockState& b = *l.block_state;
  {
    std::ostringstream where;
    where << message << " (block " << b.block_idx.x << "," << b.block_idx.y << "," << b.block_idx.z
          << ", thread " << l.current->thread_idx.x << "," << l.current->thread_idx.y << ","
          << l.current->thread_idx.z << ")";
    b.error = where.str();
  }
  switch_to_scheduler(&l.current->context, &b.scheduler, *l.current, false);
  std::abort();  // unreachable: the scheduler does not resume a failed fiber
}

void release_barrier(BlockState& b) {
  b.barrier_result = b.barrier_accumulated;
  b.barrier_accumulated = 0;
  b.barrier_arrived = 0;
  ++b.barrier_generation;
  ++b.progress;
  ++t_launch->stats.barriers;
}

void run_cp_async_group(std::vector<CpAsyncCopy>& group) {
  for (const CpAsyncCopy& c : group) {
    if (c.dst == nullptr) continue;  // landed at issue
    const int n = std::clamp(c.src_bytes, 0, 16);
    if (n > 0) std::memcpy(c.dst, c.src, static_cast<size_t>(n));
    if (n < 16) std::memset(static_cast<unsigned char*>(c.dst) + n, 0, static_cast<size_t>(16 - n));
  }
  group.clear();
}

void fiber_main() {
#if defined(RAYVID_EMU_ASAN)
  // Started from the scheduler: this is where ASan says which stack that was.
  __sanitizer_finish_switch_fiber(nullptr, &t_scheduler_stack_bottom, &t_scheduler_stack_size);
#endif
  LaunchState& l = *t_launch;
  (*l.body)();
  Fiber& f = *l.current;
  if (!f.cp_open.empty() || !f.cp_groups.empty()) {
    fail("thread exits with cp.async copies never waited for (missing cp.async.wait_group)");
  }
  BlockState& b = *l.block_state;
  f.done = true;
  --b.live;
  ++b.progress;
  if (b.barrier_arrived > 0 && b.barrier_arrived == b.live) release_barrier(b);
  switch_to_scheduler(&f.context, &b.scheduler, f, false);
  std::abort();  // unreachable: finished fibers are not resumed
}

std::vector<unsigned> order_of(unsigned n, uint64_t salt) {
  std::vector<unsigned> order(n);
  std::iota(order.begin(), order.end(), 0u);
  if (t_schedule == Schedule::kReverse || t_schedule == Schedule::kWarpByWarpReverse) {
    std::reverse(order.begin(), order.end());
  }
  if (t_schedule == Schedule::kShuffled) {
    std::mt19937_64 rng(t_seed * 0x9E3779B97F4A7C15ull + salt);
    std::shuffle(order.begin(), order.end(), rng);
  }
  return order;
}

std::string describe_deadlock(const BlockState& b) {
  std::ostringstream s;
  s << "deadlock: " << b.live << " live threads, " << b.barrier_arrived
    << " waiting at __syncthreads";
  for (size_t w = 0; w < b.warps.size(); ++w) {
    if (b.warps[w].arrived > 0) {
      s << "; warp " << w << ": " << b.warps[w].arrived
        << " lanes waiting in a collective of mask 0x" << std::hex << b.warps[w].mask << std::dec;
    }
  }
  s << " (a barrier or warp collective that not every thread reaches)";
  return s.str();
}

void run_block(LaunchState& l, BlockState& b, unsigned block_linear) {
  const unsigned n = l.block.x * l.block.y * l.block.z;
  while (t_stacks.size() < n) t_stacks.push_back(std::make_unique<FiberStack>());
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  b.fibers.assign(n, Fiber{});
  b.warps.assign((n + 31) / 32, WarpState{});
  for (size_t w = 0; w < b.warps.size(); ++w) {
    const unsigned lanes = std::min(32u, n - static_cast<unsigned>(w) * 32);
    b.warps[w].existing = lanes == 32 ? 0xffffffffu : ((1u << lanes) - 1);
  }
  for (unsigned i = 0; i < n; ++i) {
    Fiber& f = b.fibers[i];
    f.linear = i;
    f.thread_idx = Dim3(i % l.block.x, (i / l.block.x) % l.block.y, i / (l.block.x * l.block.y));
#if defined(RAYVID_EMU_ASAN)
    if (t_stacks[i]->dirty) {
      ASAN_UNPOISON_MEMORY_REGION(static_cast<char*>(t_stacks[i]->base) + page, kStackBytes);
    }
#endif
    t_stacks[i]->dirty = false;
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = static_cast<char*>(t_stacks[i]->base) + page;
    f.context.uc_stack.ss_size = kStackBytes;
    f.context.uc_link = nullptr;
    makecontext(&f.context, fiber_main, 0);
  }
  b.live = static_cast<int>(n);
  const std::vector<unsigned> order = order_of(n, block_linear);
  // A fiber left suspended by a failed launch leaves its frames (and, under ASan, their
  // redzones) on its stack.
  struct MarkAbandoned {
    BlockState& b;
    ~MarkAbandoned() {
      for (size_t i = 0; i < b.fibers.size(); ++i) {
        if (!b.fibers[i].done) t_stacks[i]->dirty = true;
      }
    }
  } mark_abandoned{b};
  void* scheduler_fake_stack = nullptr;
  auto resume = [&](Fiber& f) {
    l.current = &f;
    switch_to(&b.scheduler, &f.context, &scheduler_fake_stack,
              static_cast<char*>(t_stacks[f.linear]->base) + page, kStackBytes);
    after_switch(scheduler_fake_stack);
    ++l.stats.context_switches;
    if (!b.error.empty()) throw EmuError("emulator: " + b.error);
  };
  const bool warp_by_warp =
      t_schedule == Schedule::kWarpByWarp || t_schedule == Schedule::kWarpByWarpReverse;
  while (b.live > 0) {
    const uint64_t progress_before = b.progress;
    if (!warp_by_warp) {
      for (unsigned i : order) {
        if (!b.fibers[i].done) resume(b.fibers[i]);
      }
    } else {
      // Warps in the order of their first thread; each runs until none of its lanes can move
      // without the rest of the block (all at the barrier, done, or deadlocked).
      for (size_t start = 0; start < order.size(); start += 32) {
        const unsigned warp = order[start] / 32;
        for (uint64_t before = ~b.progress; before != b.progress;) {
          before = b.progress;
          for (unsigned i : order) {
            Fiber& f = b.fibers[i];
            if (i / 32 != warp || f.done) continue;
            if (f.at_barrier && f.barrier_waiting_for == b.barrier_generation) continue;
            resume(f);
          }
        }
      }
    }
    if (b.live > 0 && b.progress == progress_before) {
      throw EmuError("emulator: " + describe_deadlock(b));
    }
  }
}

template <typename Compute>
void warp_collective(int kind, unsigned mask, const uint32_t* in, int num_in, uint32_t* out,
                     int num_out, Compute&& compute) {
  LaunchState& l = launch_state();
  BlockState& b = *l.block_state;
  Fiber& f = *l.current;
  const unsigned lane = f.linear % 32;
  WarpState& w = b.warps[f.linear / 32];
  const unsigned effective = mask & w.existing;
  if (((effective >> lane) & 1u) == 0) {
    fail("a lane called a warp collective whose mask excludes it");
  }
  if (w.arrived == 0) {
    w.kind = kind;
    w.mask = effective;
  } else if (w.kind != kind || w.mask != effective) {
    fail("divergent warp collectives: lanes of one warp called different collectives or masks");
  }
  std::copy(in, in + num_in, w.in[lane]);
  ++w.arrived;
  ++b.progress;
  const uint64_t generation = w.generation;
  if (w.arrived == std::popcount(effective)) {
    compute(w);
    w.arrived = 0;
    w.kind = -1;
    ++w.generation;
    ++l.stats.warp_collectives;
  } else {
    while (w.generation == generation) yield();
  }
  std::copy(w.out[lane], w.out[lane] + num_out, out);
}

enum CollectiveKind { kShfl, kShflXor, kShflDown, kShflUp, kBallot, kSyncWarp, kMma, kLdmatrix };

uint32_t shuffle(int kind, unsigned mask, uint32_t value, uint32_t param, int width) {
  uint32_t in[3] = {value, param, static_cast<uint32_t>(width)};
  uint32_t out = 0;
  warp_collective(kind, mask, in, 3, &out, 1, [kind](WarpState& w) {
    for (unsigned lane = 0; lane < 32; ++lane) {
      if (((w.mask >> lane) & 1u) == 0) continue;
      const unsigned width_l = w.in[lane][2] == 0 ? 32u : w.in[lane][2];
      const unsigned segment = lane & ~(width_l - 1);
      const uint32_t p = w.in[lane][1];
      unsigned src = lane;
      if (kind == kShfl) src = segment + (p & (width_l - 1));
      if (kind == kShflXor) src = lane ^ p;
      if (kind == kShflDown) src = lane + p;
      if (kind == kShflUp) src = lane >= p ? lane - p : lane;
      if (src < segment || src >= segment + width_l) src = lane;  // out of range: own value
      if (kind == kShflUp && lane - segment < p) src = lane;
      // Reading a lane outside the mask is undefined on the GPU; the emulator gives own value.
      w.out[lane][0] = ((w.mask >> src) & 1u) ? w.in[src][0] : w.in[lane][0];
    }
  });
  return out;
}

float bf16_to_float(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float fp16_to_float(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1u, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    magnitude =
        mantissa ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
  }
  return sign ? -magnitude : magnitude;
}

}  // namespace

void set_schedule(Schedule s, uint64_t seed) {
  t_schedule = s;
  t_seed = seed;
}
Schedule schedule() { return t_schedule; }
void set_cp_async_landing(CpAsyncLanding landing) { t_landing = landing; }
CpAsyncLanding cp_async_landing() { return t_landing; }

void set_max_dynamic_smem(const void* kernel, size_t bytes) {
  if (bytes > kHardMaxDynamicSmem) {
    throw EmuError("emulator: cudaFuncSetAttribute: " + std::to_string(bytes) +
                   " bytes of dynamic shared memory exceed the GPU's limit of 227 KiB");
  }
  std::lock_guard<std::mutex> lock(g_attribute_mutex);
  g_max_dynamic_smem[kernel] = bytes;
}

void launch(const void* kernel, Dim3 grid, Dim3 block, size_t dynamic_smem,
            const std::function<void()>& body) {
  if (t_launch != nullptr) throw EmuError("emulator: nested launch (dynamic parallelism)");
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.y > 65535 || grid.z > 65535) {
    throw EmuError("emulator: invalid launch configuration (cudaErrorInvalidConfiguration)");
  }
  size_t limit = kDefaultMaxDynamicSmem;
  {
    std::lock_guard<std::mutex> lock(g_attribute_mutex);
    auto it = g_max_dynamic_smem.find(kernel);
    if (it != g_max_dynamic_smem.end()) limit = it->second;
  }
  if (dynamic_smem > limit) {
    throw EmuError("emulator: " + std::to_string(dynamic_smem) +
                   " bytes of dynamic shared memory exceed the kernel's limit of " +
                   std::to_string(limit) + " (raise it with cudaFuncSetAttribute)");
  }
  LaunchState l;
  l.grid = grid;
  l.block = block;
  l.body = &body;
  const size_t smem_bytes = (dynamic_smem + 127) / 128 * 128 + 128;
  std::unique_ptr<unsigned char, decltype(&std::free)> smem(
      static_cast<unsigned char*>(std::aligned_alloc(128, smem_bytes)), &std::free);
  // Under ASan the rounding slack past the requested bytes is poisoned: a kernel reading past its
  // dynamic shared memory is reported (on the GPU it reads another allocation or faults).
  const size_t smem_filled = kAsan ? dynamic_smem : smem_bytes;
#if defined(RAYVID_EMU_ASAN)
  ASAN_POISON_MEMORY_REGION(smem.get() + dynamic_smem, smem_bytes - dynamic_smem);
#endif
  struct Reset {
    ~Reset() { t_launch = nullptr; }
  } reset;
  t_launch = &l;
  const unsigned num_blocks = grid.x * grid.y * grid.z;
  const std::vector<unsigned> block_order = order_of(num_blocks, 0xB10Cull);
  for (unsigned linear : block_order) {
    BlockState b;
    b.block_idx = Dim3(linear % grid.x, (linear / grid.x) % grid.y, linear / (grid.x * grid.y));
    std::memset(smem.get(), 0xFF, smem_filled);
    b.smem = smem.get();
    l.block_state = &b;
    run_block(l, b, linear);
    t_last_stats = l.stats;
  }
  t_last_stats = l.stats;
}

LaunchStats last_launch_stats() { return t_last_stats; }

const Dim3& thread_idx() { return launch_state().current->thread_idx; }
const Dim3& block_idx() { return launch_state().block_state->block_idx; }
const Dim3& block_dim() { return launch_state().block; }
const Dim3& grid_dim() { return launch_state().grid; }
void* dynamic_smem() { return launch_state().block_state->smem; }

int syncthreads_count(int predicate) {
  LaunchState& l = launch_state();
  BlockState& b = *l.block_state;
  ++b.barrier_arrived;
  b.barrier_accumulated += predicate != 0;
  ++b.progress;
  const uint64_t generation = b.barrier_generation;
  if (b.barrier_arrived == b.live) {
    release_barrier(b);
  } else {
    Fiber& f = *l.current;
    f.at_barrier = true;
    f.barrier_waiting_for = generation;
    while (b.barrier_generation == generation) yield();
    f.at_barrier = false;
  }
  return b.barrier_result;
}

void syncthreads() { syncthreads_count(0); }

void syncwarp(unsigned mask) {
  uint32_t none = 0;
  warp_collective(kSyncWarp, mask, &none, 0, &none, 0, [](WarpState&) {});
}

uint32_t shfl(unsigned mask, uint32_t value, int src_lane, int width) {
  return shuffle(kShfl, mask, value, static_cast<uint32_t>(src_lane), width);
}
uint32_t shfl_xor(unsigned mask, uint32_t value, int lane_mask, int width) {
  return shuffle(kShflXor, mask, value, static_cast<uint32_t>(lane_mask), width);
}
uint32_t shfl_down(unsigned mask, uint32_t value, unsigned delta, int width) {
  return shuffle(kShflDown, mask, value, delta, width);
}
uint32_t shfl_up(unsigned mask, uint32_t value, unsigned delta, int width) {
  return shuffle(kShflUp, mask, value, delta, width);
}

unsigned ballot(unsigned mask, int predicate) {
  uint32_t in = predicate != 0, out = 0;
  warp_collective(kBallot, mask, &in, 1, &out, 1, [](WarpState& w) {
    unsigned bits = 0;
    for (unsigned lane = 0; lane < 32; ++lane) {
      if (((w.mask >> lane) & 1u) && w.in[lane][0]) bits |= 1u << lane;
    }
    for (unsigned lane = 0; lane < 32; ++lane) w.out[lane][0] = bits;
  });
  return out;
}

void mma_m16n8k16(MmaType type, float d[4], const uint32_t a[4], const uint32_t b[2],
                  const float c[4]) {
  uint32_t in[10];
  std::copy(a, a + 4, in);
  std::copy(b, b + 2, in + 4);
  std::memcpy(in + 6, c, 16);
  uint32_t out[4];
  LaunchState& l = launch_state();
  if (l.block_state->warps[l.current->linear / 32].existing != 0xffffffffu) {
    fail("mma.sync needs a full warp of 32 threads");
  }
  warp_collective(kMma + 16 * static_cast<int>(type), 0xffffffffu, in, 10, out, 4,
                  [type](WarpState& w) {
                    auto to_float = [type](uint16_t h) {
                      return type == MmaType::kBFloat16 ? bf16_to_float(h) : fp16_to_float(h);
                    };
                    float A[16][16], B[16][8], C[16][8];
                    // Fragment layout, PTX ISA "Matrix Fragments for mma.m16n8k16 with floating
                    // point type": groupID = lane / 4, threadID_in_group = lane % 4; the lower half
                    // of a .b32 register holds the element with the smaller column (A, C) or row
                    // (B) index.
                    for (unsigned lane = 0; lane < 32; ++lane) {
                      const unsigned g = lane / 4, t = lane % 4;
                      for (unsigned r = 0; r < 4; ++r) {  // a0..a7 in registers 0..3
                        const unsigned row = g + 8 * (r & 1), col = 2 * t + 8 * (r >> 1);
                        A[row][col] = to_float(static_cast<uint16_t>(w.in[lane][r] & 0xffffu));
                        A[row][col + 1] = to_float(static_cast<uint16_t>(w.in[lane][r] >> 16));
                      }
                      for (unsigned r = 0; r < 2; ++r) {  // b0..b3 in registers 4..5
                        const unsigned k = 2 * t + 8 * r;
                        B[k][g] = to_float(static_cast<uint16_t>(w.in[lane][4 + r] & 0xffffu));
                        B[k + 1][g] = to_float(static_cast<uint16_t>(w.in[lane][4 + r] >> 16));
                      }
                      for (unsigned r = 0; r < 4; ++r) {  // c0..c3 in registers 6..9
                        std::memcpy(&C[g + 8 * (r >> 1)][2 * t + (r & 1)], &w.in[lane][6 + r], 4);
                      }
                    }
                    for (unsigned lane = 0; lane < 32; ++lane) {
                      const unsigned g = lane / 4, t = lane % 4;
                      for (unsigned r = 0; r < 4; ++r) {
                        const unsigned row = g + 8 * (r >> 1), col = 2 * t + (r & 1);
                        // Products of 16-bit floats are exact in fp32; accumulate in fp32 in k
                        // order.
                        float acc = C[row][col];
                        for (unsigned k = 0; k < 16; ++k) acc += A[row][k] * B[k][col];
                        std::memcpy(&w.out[lane][r], &acc, 4);
                      }
                    }
                  });
  std::memcpy(d, out, 16);
}

void ldmatrix(uint32_t* regs, int num_matrices, bool trans, const void* row_address) {
  if (num_matrices != 1 && num_matrices != 2 && num_matrices != 4) {
    fail("ldmatrix: .num must be x1, x2 or x4");
  }
  if (reinterpret_cast<uintptr_t>(row_address) % 16 != 0) {
    fail("ldmatrix: row address not 16-byte aligned");
  }
  const uint64_t address = reinterpret_cast<uintptr_t>(row_address);
  uint32_t in[3] = {static_cast<uint32_t>(address), static_cast<uint32_t>(address >> 32),
                    static_cast<uint32_t>(num_matrices * 2 + (trans ? 1 : 0))};
  uint32_t out[4];
  warp_collective(kLdmatrix, 0xffffffffu, in, 3, out, num_matrices, [](WarpState& w) {
    const int num = static_cast<int>(w.in[0][2] / 2);
    const bool transposed = (w.in[0][2] & 1u) != 0;
    auto row_ptr = [&w](unsigned row_lane) {
      const uint64_t a = w.in[row_lane][0] | (uint64_t{w.in[row_lane][1]} << 32);
      return reinterpret_cast<const unsigned char*>(static_cast<uintptr_t>(a));
    };
    for (unsigned lane = 0; lane < 32; ++lane) {
      for (int m = 0; m < num; ++m) {
        uint16_t lo, hi;
        if (!transposed) {  // lane holds row lane/4, columns 2*(lane%4) and +1
          const unsigned char* p = row_ptr(8 * m + lane / 4) + 4 * (lane % 4);
          std::memcpy(&lo, p, 2);
          std::memcpy(&hi, p + 2, 2);
        } else {  // lane holds column lane/4 of rows 2*(lane%4) and +1
          std::memcpy(&lo, row_ptr(8 * m + 2 * (lane % 4)) + 2 * (lane / 4), 2);
          std::memcpy(&hi, row_ptr(8 * m + 2 * (lane % 4) + 1) + 2 * (lane / 4), 2);
        }
        w.out[lane][m] = lo | (uint32_t{hi} << 16);
      }
    }
  });
  std::copy(out, out + num_matrices, regs);
}

void cp_async_16(void* smem_dst, const void* global_src, int src_bytes) {
  if (reinterpret_cast<uintptr_t>(smem_dst) % 16 != 0 ||
      (src_bytes > 0 && reinterpret_cast<uintptr_t>(global_src) % 16 != 0)) {
    fail("cp.async.cg 16: source and destination must be 16-byte aligned");
  }
  if (t_landing == CpAsyncLanding::kAtIssue) {
    std::vector<CpAsyncCopy> now{{smem_dst, global_src, src_bytes}};
    run_cp_async_group(now);
    // Still tracked (as a no-op), so that a thread exiting without waiting is reported.
    launch_state().current->cp_open.push_back({nullptr, nullptr, -1});
    return;
  }
  launch_state().current->cp_open.push_back({smem_dst, global_src, src_bytes});
}

void cp_async_commit() {
  Fiber& f = *launch_state().current;
  f.cp_groups.push_back(std::move(f.cp_open));
  f.cp_open.clear();
}

void cp_async_wait(int pending_groups_allowed) {
  Fiber& f = *launch_state().current;
  while (f.cp_groups.size() > static_cast<size_t>(std::max(pending_groups_allowed, 0))) {
    run_cp_async_group(f.cp_groups.front());
    f.cp_groups.erase(f.cp_groups.begin());
  }
}

}  // namespace rayvid::emu
