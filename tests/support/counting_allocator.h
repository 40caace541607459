// A CPU allocator that counts live bytes, for tests that bound what code holds in memory through
// the allocator itself (the CPU counterpart of the CUDA caching allocator's statistics).
// Installed with CountingCpuScope; every CPU tensor allocated meanwhile is counted
// until it is freed.
#pragma once

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace rayvid::test {

class CountingCpuAllocator final : public c10::Allocator {
 public:
  explicit CountingCpuAllocator(c10::Allocator* base) : base_(base) {}

  c10::DataPtr allocate(size_t n) override {
    auto* block = new Block{base_->allocate(n), n, this};
    const int64_t live = live_ += static_cast<int64_t>(n);
    int64_t peak = peak_.load();
    while (live > peak && !peak_.compare_exchange_weak(peak, live)) {
    }
    return {block->inner.get(), block, &CountingCpuAllocator::free, c10::Device(c10::kCPU)};
  }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    std::memcpy(dest, src, count);
  }

  int64_t live_bytes() const { return live_; }
  int64_t peak_bytes() const { return peak_; }
  void reset_peak() { peak_ = live_.load(); }

 private:
  struct Block {
    c10::DataPtr inner;
    size_t bytes;
    CountingCpuAllocator* owner;
  };
  static void free(void* context) {
    auto* block = static_cast<Block*>(context);
    block->owner->live_ -= static_cast<int64_t>(block->bytes);
    delete block;
  }

  c10::Allocator* base_;
  std::atomic<int64_t> live_{0}, peak_{0};
};

// Installs a CountingCpuAllocator (over the current CPU allocator) for the scope's lifetime.
class CountingCpuScope {
 public:
  CountingCpuScope() : previous_(c10::GetCPUAllocator()), counting_(previous_) {
    c10::SetCPUAllocator(&counting_, /*priority=*/100);
  }
  ~CountingCpuScope() { c10::SetCPUAllocator(previous_, /*priority=*/100); }
  CountingCpuScope(const CountingCpuScope&) = delete;
  CountingCpuScope& operator=(const CountingCpuScope&) = delete;
  CountingCpuAllocator& allocator() { return counting_; }

 private:
  c10::Allocator* previous_;
  CountingCpuAllocator counting_;
};

}  // namespace rayvid::test
