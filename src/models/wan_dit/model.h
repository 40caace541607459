// WanDiT: the Wan diffusion transformer (diffusers WanTransformer3DModel) for every Wan variant:
// Wan2.1 T2V/I2V/FLF2V, Wan2.2 TI2V-5B (per-token timesteps) and each A14B expert (load two
// WanDiT objects; choosing the expert per step is the pipeline's job).
//
// Use: prepare_context() once per generation (prompt K/V of every block), then forward() per
// step. Batch rows are independent (cond/uncond as B = 2 in one call).
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "models/wan_dit/block.h"
#include "models/wan_dit/config.h"
#include "models/wan_dit/layers.h"
#include "models/wan_dit/weights.h"
#include "ops/attention.h"

namespace rayvid::models::wan_dit {

enum class Bf16Gemm {
  kAuto,    // fp32 GEMMs of bf16 values on CPUs without native bf16, native bf16 elsewhere
  kNative,  // LibTorch's bf16 GEMM
  kFp32,    // always fp32 GEMMs of the bf16 values
};

struct WanDiTOptions {
  c10::Device device = c10::Device(c10::kCPU);
  c10::ScalarType dtype = c10::kFloat;  // fp32 or bf16; fp32 islands as diffusers either way
  ops::KernelBackend kernels = ops::KernelBackend::kAten;  // for every hot op of the DiT
  Bf16Gemm bf16_gemm = Bf16Gemm::kAuto;
  int64_t ffn_chunk_rows = 8192;
  // kFp8: the blocks' Linear weights stay in fp8 on the device (the checkpoint's own fp8 form, or
  // quantized at load) and are dequantized one layer at a time.
  WeightStorage weight_storage = WeightStorage::kCompute;
  // The blocks' weights stay in host memory and stream to the device one block ahead
  // (block_streamer.h): about two blocks resident instead of all of them, the same numbers.
  bool stream_blocks = false;
};

// Everything forward() needs that depends only on the prompt and image, not on the step.
struct ContextCache {
  int64_t batch = 0;
  std::vector<BlockContext> blocks;  // one per transformer block
  // VACE: text K/V of each VACE block, and the patch-embedded control [B, Lc, dim] with its scale
  // (WanDiT::set_control).
  std::vector<BlockContext> vace_blocks;
  at::Tensor control;
  double control_scale = 1.0;
};

class RopeTableCache;
class BlockStreamer;

// The first `rows` batch rows of a context (views, no copies): the conditional branch alone of a
// guided context, for steps that drop guidance.
ContextCache first_rows(const ContextCache& context, int64_t rows);

// The transformer blocks' residual for step caching (pipeline/step_cache.h): a step the cache
// skips reuses the residual of the last step that ran the blocks (TeaCache, MagCache). With a
// first-block threshold (diffusers' FirstBlockCache), the first block always runs, and each batch
// row (guidance's cond and uncond, which diffusers caches apart) runs the other blocks only when
// the first block's residual moved by more than the threshold since that row last ran them.
struct BlockResidualCache {
  // This forward: add `residual` instead of running the blocks.
  bool reuse = false;
  // [B, L, dim]: the blocks' output minus their input, of the last forward that ran them
  // (first-block mode: the blocks after the first, minus the first's output).
  at::Tensor residual;
  // > 0: first-block mode with this threshold.
  double first_block_threshold = 0;
  // First-block mode: the first block's residual per row, as of the row's last full run; and
  // which rows ran every block in this forward.
  at::Tensor first_residual;
  std::vector<bool> rows_ran;
};

class WanDiT {
 public:
  // config.json + safetensors of a component folder (e.g. <model>/transformer); diffusers or
  // original Wan names and configs.
  static WanDiT load(const std::filesystem::path& component_dir, const WanDiTOptions& options);
  // Strict: every tensor of `config` must be in `source` with its shape, and nothing else.
  WanDiT(const WanDiTConfig& config, const WeightSource& source, const WanDiTOptions& options);
  // Weights already made (e.g. random ones in a benchmark).
  WanDiT(const WanDiTConfig& config, WanDiTWeights weights, const WanDiTOptions& options);
  ~WanDiT();
  WanDiT(WanDiT&&) noexcept;
  WanDiT& operator=(WanDiT&&) noexcept;

  const WanDiTConfig& config() const { return config_; }
  const WanDiTOptions& options() const { return options_; }
  const WanDiTWeights& weights() const { return weights_; }
  // For in-place updates that keep every tensor's shape, dtype and device (LoRA merges, lora.h).
  WanDiTWeights& weights_for_update();

  // text: [B, Lt, text_dim] (umT5 output, padding rows zero); image: [B, Li, image_dim] CLIP
  // tokens for Wan2.1 I2V ([2B, Li, image_dim] first+last frame for FLF2V), else undefined.
  ContextCache prepare_context(const at::Tensor& text, const at::Tensor& image = {}) const;
  // VACE: the control states [1 or B, vace_in_channels, F, H, W] (the same for every step) and
  // the hints' scale (diffusers' conditioning_scale), patch-embedded once into `context`.
  void set_control(ContextCache& context, const at::Tensor& control, double scale = 1.0) const;

  // latents: [B, in_channels, F, H, W] (F, H, W multiples of the patch); timestep: [B] or
  // [B, F·H·W/(pt·ph·pw)] (per token, TI2V). Returns the velocity [B, out_channels, F, H, W] in the
  // compute dtype (diffusers returns the bf16 proj_out; the pipeline's guidance then runs in bf16
  // too).
  // With `cache`: reuse its residual when cache->reuse (it must hold one of this shape), else run
  // the blocks and store their residual there.
  at::Tensor forward(const at::Tensor& latents, const at::Tensor& timestep,
                     const ContextCache& context, BlockResidualCache* cache = nullptr) const;

  // The timestep embedding of one timestep: temb [1, dim] (Wan's `e`) or, projected, the
  // modulation input [1, 6·dim] (`e0`), fp32. What TeaCache compares between steps.
  at::Tensor time_embedding(double timestep, bool projected) const;

 private:
  // The main blocks with VACE's hints: VACE block k runs just before main block vace_layers[k]
  // needs its hint (diffusers runs them all first; the chain does not depend on the main blocks,
  // so the results are the same, with one hint alive at a time).
  at::Tensor vace_blocks(at::Tensor x, const at::Tensor& time_proj, const TimestepGroups& groups,
                         const ops::Rope3DTable& rope, const ContextCache& context) const;
  // The blocks in first-block-cache mode (BlockResidualCache).
  at::Tensor first_block_cached(at::Tensor x, const at::Tensor& time_proj,
                                const TimestepGroups& groups, const ops::Rope3DTable& rope,
                                const ContextCache& context, BlockResidualCache& cache) const;

  // Block `index`'s weights on the device: resident, or fetched by the streamer.
  const BlockWeights& block(size_t index) const;

  WanDiTConfig config_;
  WanDiTOptions options_;
  ComputeSettings settings_;
  WanDiTWeights weights_;
  std::unique_ptr<RopeTableCache> rope_cache_;
  std::unique_ptr<BlockStreamer> streamer_;  // stream_blocks only
};

}  // namespace rayvid::models::wan_dit
