// What a device can do at best: dense bf16 matmul throughput, memory bandwidth and capacity.
// Vendor peaks for GPUs; "cpu" is measured on this machine.
#pragma once

#include <string>
#include <vector>

namespace rayvid::tools::bench {

struct DeviceSpec {
  std::string name;          // "h100", ...
  std::string description;   // "NVIDIA H100 SXM5 80 GB"
  double matmul_tflops = 0;  // dense bf16 tensor-core peak with fp32 accumulation (CPU: measured)
  double bandwidth_gbs = 0;  // memory bandwidth, GB/s (1e9)
  double memory_gb = 0;      // device memory (CPU: MemTotal), GB (1e9)
  bool measured = false;     // true for "cpu": numbers come from this run
  std::string source;        // where the numbers come from
};

std::vector<std::string> device_preset_names();  // h100, h200, rtx4090, rtx5090, cpu
// A GPU preset, or for "cpu" a quick measurement (about a second): the best of a few fp32 and
// bf16 LibTorch matmuls, a large memcpy, and MemTotal. kBadArgument for an unknown name.
DeviceSpec device_preset(const std::string& name);

}  // namespace rayvid::tools::bench
