// `rayvid bench --arch NAME`: times the real architecture of a Wan variant with random weights,
// so a machine can be measured without downloading a checkpoint: the denoising steps of the DiT
// (through the same loop, guidance and scheduler as a generation) and one VAE decode at one size.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/wan_dit/config.h"
#include "models/wan_vae/config.h"
#include "pipeline/presets.h"
#include "pipeline/step_cache.h"
#include "rayvid/rayvid.h"
#include "tools/bench/arch_spec.h"

namespace rayvid::tools::bench {

struct ArchBenchOptions {
  std::string device = "auto";   // auto | cpu | cuda
  std::string dtype = "";        // empty = bf16 on CUDA, fp32 on the CPU
  std::string kernels = "auto";  // auto | rayvid | aten | emu | reference
  std::string sampler = "unipc";
  int steps = 3;              // timed denoising steps
  int warmup_steps = 1;       // untimed steps before them (allocator, kernel caches, page faults)
  bool guided = true;         // batch 2 (conditional + unconditional) per step, as with guidance
  bool decode = true;         // also time one VAE decode of the final latents
  uint64_t seed = 0;          // weights, prompt stand-in and noise
  ProgressCallback progress;  // stages "weights", "denoise" (step i/N, ETA), "vae_decode"
  // Whole-schedule options (the schedule decides what runs, so there is no warm-up then):
  std::optional<pipeline::StepCacheSettings> step_cache;  // TeaCache / MagCache / FirstBlockCache
  std::string recipe;     // e.g. distill-4step: its steps, sampler, schedule, no guidance
  int guided_steps = -1;  // --guidance-until: steps with guidance, from the start (-1: all)
};

struct ArchTiming {
  std::string device;                 // what it ran on, in words: "cpu (2 threads)", "cuda:0"
  std::string dtype;                  // of the DiT ("fp32", "bf16")
  std::string kernels;                // the kernel backend that ran (`auto` resolved)
  int64_t dit_parameters = 0;         // counted on the model as built (one expert)
  int64_t tokens = 0;                 // video tokens per forward
  std::vector<int64_t> latent_shape;  // [1, z, T, h, w]
  std::vector<int64_t> video_shape;   // [1, 3, F, H, W] decoded (empty without decode)
  double build_seconds = 0;           // making the DiT's random weights
  double context_seconds = 0;         // the prompt's per-block K/V, once per generation
  std::vector<double> step_seconds;   // timed steps, warm-up excluded
  double vae_decode_seconds = 0;
  double denoise_peak_bytes = 0;  // CUDA allocator peak while denoising; CPU: process peak RSS
  double peak_memory_bytes = 0;   // the whole run, same measure
  // The memory model's device peak for this run (engine/memory_model.h; encoders are stand-ins
  // here, so without their weights; on the CPU without the process's own ~0.5 GB).
  double predicted_peak_bytes = 0;
  bool finite = false;            // the final latents and video have no NaN/Inf
  double denoise_seconds = 0;     // the whole schedule, warm-up included
  std::vector<bool> cache_steps;  // with a step cache: which steps ran the blocks
  int dit_forwards = 0;           // forwards that ran the blocks, one per branch and step
};

// The model configs of a variant: the DiT as diffusers' config.json spells it, the VAE preset.
models::wan_dit::WanDiTConfig dit_config(const ArchSpec& arch);
models::wan_vae::WanVAEConfig vae_config(const ArchSpec& arch);

// Builds the DiT (one expert of two-expert variants: one is active per step) and, after freeing
// it, the VAE, from random weights on the chosen device, and times them. Checks the available
// memory first (kOutOfMemory naming the need and the fix).
ArchTiming time_architecture(const ArchSpec& arch, const pipeline::VideoShape& shape,
                             const ArchBenchOptions& options);

std::string format_arch_timing(const ArchSpec& arch, const pipeline::VideoShape& shape,
                               const ArchBenchOptions& options, const ArchTiming& timing);
nlohmann::json arch_timing_json(const ArchSpec& arch, const pipeline::VideoShape& shape,
                                const ArchBenchOptions& options, const ArchTiming& timing);

}  // namespace rayvid::tools::bench
