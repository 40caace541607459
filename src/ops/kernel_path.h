// Which path a kernel-backed op took: rayvid's kernel (native or on the emulator) or the ATen
// fallback for tensors the kernel does not cover. One KernelPathLog per op counts the calls of
// each path over the process (the engine reports the difference over one generation in the
// sidecar) and logs each path once, so a run says whether the kernel really ran.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace rayvid::ops {

struct KernelPathCounts {
  int64_t kernel = 0;
  int64_t fallback = 0;
};

class KernelPathLog {
 public:
  // op: "attention"; fallback: what runs when the kernel does not apply ("SDPA", "ATen"). Every
  // log registers itself for kernel_path_counts(); it must live as long as the process (a
  // namespace-scope static of the op's .cpp).
  KernelPathLog(const char* op, const char* fallback);

  void took_kernel(bool emulated);
  void took_fallback(bool emulated);
  KernelPathCounts counts() const { return {kernel_.load(), fallback_calls_.load()}; }

 private:
  const char* op_;
  const char* fallback_;
  std::atomic<int64_t> kernel_{0}, fallback_calls_{0};
  std::once_flag logged_[3];
};

// The counts of every kernel-backed op so far, by op name ("attention", "rms_norm", ...).
std::map<std::string, KernelPathCounts> kernel_path_counts();

}  // namespace rayvid::ops
