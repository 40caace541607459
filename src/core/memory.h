// Process memory figures for progress reports, benchmarks and fail-fast checks.
#pragma once

#include <cstdint>

namespace rayvid {

uint64_t peak_rss_bytes();       // the process's peak resident set so far
uint64_t available_ram_bytes();  // MemAvailable from /proc/meminfo (0 if unknown)

}  // namespace rayvid
