// `rayvid bench --arch NAME --measure`: times the real architecture with random weights (no
// checkpoint needed): DiT steps and the VAE decode at one size.
#pragma once

#include <string>
#include <vector>

#include "engine/bench/arch_spec.h"
#include "pipeline/presets.h"

namespace rayvid::engine::bench {

struct ArchBenchOptions {
  std::string device = "auto";  // auto | cpu | cuda
  std::string dtype = "";       // empty = bf16 on CUDA, fp32 on the CPU
  int steps = 3;                // timed denoise steps (after one warm-up step)
  bool guided = true;           // two forwards per step
  bool decode = true;           // also time one VAE decode
};

struct ArchTiming {
  std::vector<double> step_seconds;  // timed steps, warm-up excluded
  double vae_decode_seconds = 0;
  double peak_memory_bytes = 0;
  std::string device;  // what it ran on, in words
};

// Needs the DiT and VAE implementations: until they are merged this throws kUnsupported.
ArchTiming time_architecture(const ArchSpec& arch, const pipeline::VideoShape& shape,
                             const ArchBenchOptions& options);

}  // namespace rayvid::engine::bench
