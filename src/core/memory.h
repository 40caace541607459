// Process memory figures for progress reports, benchmarks and fail-fast checks.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>

namespace rayvid {

uint64_t peak_rss_bytes();       // the process's peak resident set so far
uint64_t available_ram_bytes();  // MemAvailable from /proc/meminfo (0 if unknown)

// The CUDA caching allocator's peak of allocated bytes on `device` since the last reset: what a
// GPU run really needed (the allocator's cache and the CUDA context come on top). 0 for the CPU.
uint64_t device_peak_allocated_bytes(c10::Device device);
void reset_device_peak(c10::Device device);

// Memory free for new work: MemAvailable on the CPU; on a GPU the driver's free bytes plus what
// this process's caching allocator holds unused. 0 if unknown.
uint64_t free_memory_bytes(c10::Device device);

}  // namespace rayvid
