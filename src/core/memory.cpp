// Process memory figures (Linux).
#include "core/memory.h"

#include <sys/resource.h>

#include <c10/core/CachingDeviceAllocator.h>

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
}  // namespace

uint64_t device_peak_allocated_bytes(c10::Device device) {
  if (device.is_cpu()) return 0;
  const auto stats = c10::getDeviceAllocator(device.type())->getDeviceStats(index_of(device));
  return static_cast<uint64_t>(
      stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak);
}

void reset_device_peak(c10::Device device) {
  if (!device.is_cpu()) c10::getDeviceAllocator(device.type())->resetPeakStats(index_of(device));
}

uint64_t free_memory_bytes(c10::Device device) {
  if (device.is_cpu()) return available_ram_bytes();
  const auto [free, total] =
      c10::getDeviceAllocator(device.type())->getMemoryInfo(index_of(device));
  (void)total;
  return static_cast<uint64_t>(free);
}

}  // namespace rayvid
