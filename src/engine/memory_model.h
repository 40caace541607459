// The memory model: predicted peak device and host bytes of a request, per component and per
// stage, for a memory profile. The planner checks requests with it, `rayvid bench
// --memory-table` prints it for the published variants, and `rayvid bench --plan` and `--arch`
// report and check with it (tools/bench/cost_model.h). The VAE's part is the VAE's own model
// (models/wan_vae/memory_model.h), counted from the tensors its decoder keeps alive.
//
// Stages, each on top of what the profile keeps resident:
//   text encode   umT5 (loaded on demand under balanced/low)
//   image encode  CLIP and the VAE's encoder (I2V)
//   denoise       the DiT's activations at the widest point of a block (batch 2 with guidance)
//                 and the prompt's K/V for every block (computed once per request)
//   decode        the VAE decode's working set (tiled when the untiled pass would not fit) and
//                 the video
// The device peak is the largest stage. Host memory on a GPU is the runtime, the streamed blocks
// (low: one expert's, pinned) and the video; on the CPU host and device are one memory.
#pragma once

#include <cstdint>
#include <string>

#include "engine/memory_profile.h"
#include "models/wan_vae/config.h"
#include "pipeline/presets.h"

namespace rayvid::engine {

// What the model needs to know about a model: parameter counts and a few shapes.
struct ModelMemoryFacts {
  double dit_parameters = 0;    // one expert
  double dit_fp8_storable = 0;  // one expert's block Linear weights (fp8 storage)
  int experts = 1;
  int64_t dit_dim = 0, dit_ffn = 0, dit_layers = 0;
  int64_t token_stride = 16;  // pixels per token side: VAE stride x patch
  int64_t text_tokens = 512, image_tokens = 0;
  double text_encoder_parameters = 0, image_encoder_parameters = 0;
  double vae_parameters = 0;  // 0 = count them from `vae`
  models::wan_vae::WanVAEConfig vae;
};

struct MemorySettings {
  int64_t dtype_bytes = 4;  // the compute dtype (the VAE too: fp32 on the CPU, bf16 on CUDA)
  bool guided = true;
  bool fp8_storage = false;
  MemoryProfile profile = MemoryProfile::kMax;
  bool gpu = false;
  int64_t ffn_chunk_rows = 8192;  // WanDiTOptions::ffn_chunk_rows
};

struct MemoryEstimate {
  double dit_weights = 0;       // one expert as stored (fp8 storage counted)
  double resident_weights = 0;  // what stays on the device the whole request
  double text_encoder = 0, image_encoder = 0, vae_weights = 0;
  double dit_activations = 0;  // one forward's peak live tensors
  double context_cache = 0;    // the prompt's K/V for every block
  double vae_decode = 0;       // the decode's working set + the video
  double streamed_blocks = 0;  // low: one expert's blocks in pinned host memory
  double device_peak = 0;      // the largest stage (on the CPU: everything, host included)
  double host_peak = 0;        // on a GPU: runtime + streamed blocks + video; on the CPU = device
  std::string peak_stage;      // "text encode", "image encode", "denoise" or "decode"
};

// The DiT's activations of one forward over `tokens` video tokens at `batch`: per token the
// residual, the normed input, q, k, v, the attention output and one transient (7 x dim), plus
// one FFN chunk's hidden state (chunk_rows x ffn x 2; 0 rows = unchunked: every row).
double dit_activation_bytes(int64_t dim, int64_t ffn, double tokens, double batch,
                            double dtype_bytes, int64_t ffn_chunk_rows);

// Host memory a GPU run needs besides its tensors: LibTorch, the CUDA context and kernels.
inline constexpr double kGpuRuntimeHostBytes = 3.0 * (1 << 30);

MemoryEstimate estimate_memory(const ModelMemoryFacts& model, const pipeline::VideoShape& shape,
                               const MemorySettings& settings);

}  // namespace rayvid::engine
