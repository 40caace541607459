// A memory model for WanVAE::decode: predicted peak bytes from the config, the latent size, the
// dtype and the tile settings, counted from the tensors this implementation keeps alive (see
// memory_model.cpp for the per-layer counts). Used to pick tile sizes for Tiling::kAuto and
// checked against measured peak RSS by benchmarks/vae.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>

#include "models/wan_vae/config.h"
#include "models/wan_vae/tiling.h"

namespace rayvid::models::wan_vae {

struct DecodeMemoryEstimate {
  uint64_t weights = 0;        // all VAE parameters (encoder included: load() keeps both)
  uint64_t io = 0;             // latent input + video output (+ the tiled path's buffers)
  uint64_t feature_cache = 0;  // the causal cache of one decode pass (one tile when tiled)
  uint64_t activations = 0;    // the largest set of live intermediate tensors in one chunk
  std::string peak_layer;      // where the activations peak, e.g. "up_blocks.3.resnets.0"
  uint64_t total() const { return weights + io + feature_cache + activations; }
};

// `latent_*`: the latent the pipeline decodes ([batch, z, frames, height, width]).
DecodeMemoryEstimate estimate_decode_memory(const WanVAEConfig& config, int64_t batch,
                                            int64_t num_frames_latent, int64_t latent_height,
                                            int64_t latent_width, c10::ScalarType dtype,
                                            const TilePlan& plan);

// Bytes of the feature cache alone after a steady-state chunk (one tile when tiled): two frames
// at the input of every cached temporal conv. Exposed for the hand-count tests.
uint64_t decode_cache_bytes(const WanVAEConfig& config, int64_t batch, int64_t latent_height,
                            int64_t latent_width, c10::ScalarType dtype);

// What the device can give us now: MemAvailable on the CPU; 0 where it is unknown.
uint64_t available_memory_bytes(c10::Device device);

}  // namespace rayvid::models::wan_vae
