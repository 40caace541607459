// Device presets and the CPU measurement.
#include "tools/bench/device_spec.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/check.h"
#include "core/stopwatch.h"

namespace rayvid::tools::bench {
namespace {

double mem_total_gb() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kib = 0;
  while (in >> key >> kib) {
    if (key == "MemTotal:") return kib * 1024 / 1e9;
    in.ignore(1 << 10, '\n');
  }
  return 0;
}

// Best of a few runs of an n x n matmul: an optimistic but honest floor for this CPU.
double matmul_tflops(at::ScalarType dtype) {
  c10::InferenceMode guard;
  constexpr int64_t n = 1024;
  const at::Tensor a = at::randn({n, n}).to(dtype);  // [n, n]
  const at::Tensor b = at::randn({n, n}).to(dtype);  // [n, n]
  at::Tensor c = at::matmul(a, b);                   // [n, n] warm-up
  double best = 1e30;
  for (int i = 0; i < 3; ++i) {
    Stopwatch watch;
    c = at::matmul(a, b);  // [n, n]
    best = std::min(best, watch.seconds());
  }
  return 2.0 * n * n * n / best / 1e12;
}

double memcpy_gbs() {
  constexpr size_t bytes = 256u << 20;
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  std::memcpy(dst.data(), src.data(), bytes);  // fault the pages in
  double best = 1e30;
  for (int i = 0; i < 3; ++i) {
    Stopwatch watch;
    std::memcpy(dst.data(), src.data(), bytes);
    best = std::min(best, watch.seconds());
  }
  return 2.0 * bytes / best / 1e9;  // read + write
}

}  // namespace

std::vector<std::string> device_preset_names() {
  return {"h100", "h200", "rtx4090", "rtx5090", "cpu"};
}

DeviceSpec device_preset(const std::string& name) {
  if (name == "h100")
    return {"h100",
            "NVIDIA H100 SXM5 80 GB",
            989,
            3350,
            80,
            false,
            "NVIDIA H100 datasheet: 989 TFLOP/s dense BF16 (1979 with sparsity), 3.35 TB/s HBM3"};
  if (name == "h200")
    return {"h200",
            "NVIDIA H200 SXM 141 GB",
            989,
            4800,
            141,
            false,
            "NVIDIA H200 datasheet: same Hopper compute as H100 SXM, 4.8 TB/s HBM3e"};
  if (name == "rtx4090")
    return {"rtx4090",
            "NVIDIA GeForce RTX 4090 24 GB",
            165.2,
            1008,
            24,
            false,
            "Ada Lovelace whitepaper: 165.2 TFLOP/s dense BF16 with FP32 accumulate (GeForce runs "
            "FP32 accumulation at half the FP16-accumulate rate of 330.3), 1008 GB/s GDDR6X"};
  if (name == "rtx5090")
    return {"rtx5090",
            "NVIDIA GeForce RTX 5090 32 GB",
            209.5,
            1792,
            32,
            false,
            "Blackwell GeForce whitepaper: 209.5 TFLOP/s dense BF16 with FP32 accumulate, "
            "1792 GB/s GDDR7"};
  if (name == "cpu") {
    const double fp32 = matmul_tflops(at::kFloat), bf16 = matmul_tflops(at::kBFloat16);
    return {"cpu",
            fmt::format("this CPU ({} threads)", at::get_num_threads()),
            std::max(fp32, bf16),
            memcpy_gbs(),
            mem_total_gb(),
            true,
            fmt::format("measured now: 1024^3 matmul fp32 {:.3f} / bf16 {:.3f} TFLOP/s (best "
                        "used), 256 MiB memcpy, /proc/meminfo MemTotal",
                        fp32, bf16)};
  }
  fail(ErrorCategory::kBadArgument, "--device-preset {}: unknown device; choose one of {}", name,
       fmt::join(device_preset_names(), ", "));
}

}  // namespace rayvid::tools::bench
