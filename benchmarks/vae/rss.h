// Peak resident memory of this process on Linux: VmHWM from /proc/self/status, reset by writing
// "5" to /proc/self/clear_refs, so one process can measure several phases.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace rayvid::bench {

inline uint64_t proc_status_kib(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1));
  }
  return 0;
}
inline uint64_t rss_bytes() { return proc_status_kib("VmRSS") * 1024; }
inline uint64_t peak_rss_bytes() { return proc_status_kib("VmHWM") * 1024; }
inline void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

}  // namespace rayvid::bench
