// The cost planner's arithmetic: FLOPs, memory and time floors of a Wan request on a device, from
// the architecture alone. Conventions: 2 FLOPs per multiply-add; only matmul/conv FLOPs count
// (norms, softmax, RoPE and elementwise work are memory-bound and left out); one "forward" is one
// DiT call for one CFG branch at batch 1.
#pragma once

#include <cstdint>
#include <string>

#include "engine/memory_model.h"
#include "pipeline/presets.h"
#include "tools/bench/arch_spec.h"
#include "tools/bench/device_spec.h"

namespace rayvid::tools::bench {

struct ForwardFlops {
  double linear = 0;     // every Linear/Conv of the DiT: blocks, embeddings, head
  double attention = 0;  // QK^T and PV of self- and cross-attention
  double total() const { return linear + attention; }
};

struct Tokens {
  int64_t latent_frames = 0, latent_height = 0, latent_width = 0;
  int64_t video = 0;    // L = T * (H / stride) * (W / stride)
  int64_t context = 0;  // text tokens (+ CLIP image tokens)
};

Tokens count_tokens(const ArchSpec& arch, const pipeline::VideoShape& shape);

// Per DiT forward: per block 2L(6d^2 + 2df) linear [q,k,v,o of self-attention, q,o of
// cross-attention, FFN] + 2 C d^2 * 2 (cross-attention k, v of the context) and 4L^2 d + 4 L C d
// attention; plus patch embedding, text/time MLPs and the head.
ForwardFlops dit_forward_flops(const ArchSpec& arch, const Tokens& tokens);

// VAE decode of the whole video (2.1: ~8.5 MFLOP, 2.2: ~18.3 MFLOP per output pixel per frame).
double vae_decode_flops(const ArchSpec& arch, const pipeline::VideoShape& shape);

// Memory under the max profile (everything resident), from the engine's memory model
// (engine/memory_model.h): the one count the planner, `--memory auto` and `bench --memory-table`
// use too.
struct MemoryPlan {
  double dit_weights = 0;  // every expert resident, in the compute dtype
  double text_encoder_weights = 0;
  double other_weights = 0;    // VAE (+ CLIP for Wan2.1 I2V)
  double dit_activations = 0;  // one forward's peak live tensors + the prompt's K/V cache
  double vae_decode = 0;       // the decode's working set + the video
  double peak = 0;             // the model's device peak: weights + the widest stage
};

// The memory model's facts for an architecture: parameter counts and shapes.
engine::ModelMemoryFacts memory_facts(const ArchSpec& arch);

MemoryPlan plan_memory(const ArchSpec& arch, const pipeline::VideoShape& shape, double dtype_bytes,
                       bool guided);

struct CostPlan {
  ArchSpec arch;
  DeviceSpec device;
  pipeline::VideoShape shape;
  Tokens tokens;
  int steps = 0;
  bool guided = true;      // two forwards per step (CFG)
  double dtype_bytes = 2;  // compute dtype of weights and activations: 2 (bf16) or 4 (fp32)
  ForwardFlops forward;
  double vae_flops = 0;
  double text_encoder_flops = 0;  // prompt + negative prompt through umT5-XXL
  MemoryPlan memory;
  // Floors: time = max(FLOPs / peak FLOP/s, bytes / bandwidth), i.e. the roofline at 100%.
  double forward_seconds = 0;
  double step_seconds = 0;  // forwards_per_step * forward_seconds
  double vae_seconds = 0;
  double run_seconds = 0;  // text encoder + steps * step + VAE decode
  bool fits = true;        // memory.peak() <= device memory
};

CostPlan plan_cost(const ArchSpec& arch, const pipeline::VideoShape& shape,
                   const DeviceSpec& device, int steps, bool guided, double dtype_bytes = 2);

}  // namespace rayvid::tools::bench
