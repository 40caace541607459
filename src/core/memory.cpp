// Process memory figures (Linux).
#include "core/memory.h"

#include <sys/resource.h>

#include <c10/core/CachingDeviceAllocator.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace rayvid {

uint64_t peak_rss_bytes() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // ru_maxrss is in KiB on Linux
}

uint64_t available_ram_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t value = 0;
  std::string unit;
  while (meminfo >> key >> value >> unit) {
    if (key == "MemAvailable:") return value * 1024;
  }
  return 0;
}

// Through c10's device-generic allocator interface, so this file needs no CUDA headers and the
// CPU-only build compiles it unchanged.
namespace {
c10::DeviceIndex index_of(c10::Device device) { return device.has_index() ? device.index() : 0; }
constexpr auto kAll = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
}  // namespace

uint64_t device_peak_allocated_bytes(c10::Device device) {
  if (device.is_cpu()) return 0;
  const auto stats = c10::getDeviceAllocator(device.type())->getDeviceStats(index_of(device));
  return static_cast<uint64_t>(stats.allocated_bytes[kAll].peak);
}

void reset_device_peak(c10::Device device) {
  if (!device.is_cpu()) c10::getDeviceAllocator(device.type())->resetPeakStats(index_of(device));
}

uint64_t free_memory_bytes(c10::Device device) {
  if (device.is_cpu()) return available_ram_bytes();
  auto* allocator = c10::getDeviceAllocator(device.type());
  const auto [free, total] = allocator->getMemoryInfo(index_of(device));
  (void)total;
  // Blocks the caching allocator holds but no tensor uses are free for this process's next
  // request, though the driver counts them as taken.
  const auto stats = allocator->getDeviceStats(index_of(device));
  const int64_t cached = stats.reserved_bytes[kAll].current - stats.allocated_bytes[kAll].current;
  return static_cast<uint64_t>(free) + static_cast<uint64_t>(std::max<int64_t>(cached, 0));
}

}  // namespace rayvid
