// WanDiT: loading, the prompt cache and the forward pass (see model.h).
#include "models/wan_dit/model.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "core/check.h"
#include "core/cpu_features.h"
#include "core/device.h"
#include "io/safetensors.h"
#include "models/wan_dit/block_streamer.h"
#include "models/wan_dit/embeddings.h"
#include "models/wan_dit/modulation.h"
#include "models/wan_dit/rope_cache.h"
#include "models/wan_dit/weight_names.h"
#include "ops/modulation.h"

namespace rayvid::models::wan_dit {
namespace {

WanDiTWeights load_strict(const WanDiTConfig& config, const WeightSource& source,
                          const WanDiTOptions& options) {
  config.validate();
  NameTranslator translator;
  if (is_wan_original_checkpoint(source.names())) translator = wan_original_to_diffusers;
  // Streaming: everything loads to host memory first; the constructor moves what stays resident.
  WeightLoader loader(source, options.stream_blocks ? c10::Device(c10::kCPU) : options.device,
                      options.dtype, translator);
  WanDiTWeights weights = load_weights(loader, config, options.dtype, options.weight_storage);
  loader.finish();
  return weights;
}

ComputeSettings make_settings(const WanDiTConfig& config, const WanDiTOptions& options) {
  RAYVID_CHECK(options.dtype == at::kFloat || options.dtype == at::kBFloat16, BadArgument,
               "the Wan DiT runs in fp32 or bf16, not {}", dtype_label(options.dtype));
  ComputeSettings s;
  s.dtype = options.dtype;
  s.heads = config.num_attention_heads;
  s.eps = config.eps;
  s.kernels = options.kernels;
  s.ffn_chunk_rows = std::max<int64_t>(1, options.ffn_chunk_rows);
  const bool upcast_here = options.device.is_cpu() && !cpu_has_native_bf16_matmul();
  s.bf16_gemm_in_fp32 =
      options.dtype == at::kBFloat16 && (options.bf16_gemm == Bf16Gemm::kFp32 ||
                                         (options.bf16_gemm == Bf16Gemm::kAuto && upcast_here));
  return s;
}

// Streaming: the blocks' weights in host memory (pinned for asynchronous copies to a GPU), the
// rest (embeddings, head, VACE blocks) on the device.
void place_for_streaming(WanDiTWeights& weights, const WanDiTConfig& config, c10::Device device) {
  const bool pin = device.is_cuda();
  auto place = [&](const std::string& name, at::Tensor& t) {
    if (!t.defined()) return;
    if (!name.starts_with("blocks.")) {
      t = t.to(device);
    } else {
      t = t.to(at::kCPU);
      if (pin) t = t.pin_memory();
    }
  };
  visit_weights(
      weights, config,
      [&](const std::string& name, const std::vector<int64_t>&, WeightPrecision, at::Tensor& slot) {
        place(name, slot);
      },
      [&](const std::string& name, const std::vector<int64_t>&, Linear& linear) {
        place(name, linear.weight);
        place(name, linear.scale);
      });
}

}  // namespace

WanDiT WanDiT::load(const std::filesystem::path& component_dir, const WanDiTOptions& options) {
  const io::JsonFile json = io::JsonFile::load(component_dir / "config.json");
  WanDiTConfig config = WanDiTConfig::from_json(json);
  const StoreSource source(io::WeightStore::open_folder(component_dir), component_dir.string());
  if (json.has("model_type") && config.image_dim) {
    // An original config says "i2v" both for Wan2.1 I2V (CLIP tokens) and Wan2.2 I2V-A14B (none).
    const auto names = source.names();
    const bool has_image_path = std::any_of(names.begin(), names.end(), [](const auto& name) {
      return wan_canonical_name(name).starts_with("condition_embedder.image_embedder.");
    });
    if (!has_image_path) config.image_dim.reset(), config.added_kv_proj_dim.reset();
    if (!has_image_path) config.pos_embed_seq_len.reset();
  }
  return WanDiT(config, source, options);
}

WanDiT::WanDiT(const WanDiTConfig& config, const WeightSource& source, const WanDiTOptions& options)
    : WanDiT(config, load_strict(config, source, options), options) {}

WanDiT::WanDiT(const WanDiTConfig& config, WanDiTWeights weights, const WanDiTOptions& options)
    : config_(config),
      options_(options),
      settings_(make_settings(config, options)),
      weights_(std::move(weights)),
      rope_cache_(std::make_unique<RopeTableCache>(config.attention_head_dim(),
                                                   config.rope_max_seq_len, options.device)) {
  config_.validate();
  if (options_.stream_blocks) {
    place_for_streaming(weights_, config_, options_.device);
    streamer_ = std::make_unique<BlockStreamer>(options_.device);
  }
}

const BlockWeights& WanDiT::block(size_t index) const {
  return streamer_ ? streamer_->fetch(weights_.blocks, index) : weights_.blocks[index];
}

WanDiTWeights& WanDiT::weights_for_update() {
  if (streamer_) streamer_->release();  // staged copies of the blocks about to change
  return weights_;
}

WanDiT::~WanDiT() = default;
WanDiT::WanDiT(WanDiT&&) noexcept = default;
WanDiT& WanDiT::operator=(WanDiT&&) noexcept = default;

ContextCache WanDiT::prepare_context(const at::Tensor& text, const at::Tensor& image) const {
  c10::InferenceMode guard(inference_mode_on(options_.device));
  RAYVID_CHECK(text.dim() == 3 && text.size(2) == config_.text_dim && text.size(1) > 0, BadArgument,
               "text states: expected [B, tokens, {}], got [{}]", config_.text_dim,
               fmt::join(text.sizes(), ", "));
  const int64_t batch = text.size(0);
  at::Tensor image_tokens;  // [B, Li, dim]
  if (config_.has_image_input()) {
    RAYVID_CHECK(image.defined() && image.dim() == 3 && image.size(2) == *config_.image_dim,
                 BadArgument,
                 "this Wan2.1 I2V/FLF2V transformer needs CLIP image tokens [B, tokens, {}]{}",
                 *config_.image_dim,
                 image.defined() ? fmt::format(", got [{}]", fmt::join(image.sizes(), ", ")) : "");
    image_tokens = embed_image(image.to(options_.device), weights_, config_, settings_);
    RAYVID_CHECK(image_tokens.size(0) == batch, BadArgument,
                 "image tokens give batch {} but the text batch is {}", image_tokens.size(0),
                 batch);
  } else {
    RAYVID_CHECK(!image.defined(), BadArgument,
                 "this transformer has no image-token input (only Wan2.1 I2V/FLF2V have one)");
  }
  const at::Tensor text_tokens = embed_text(text.to(options_.device), weights_, settings_);
  ContextCache cache;
  cache.batch = batch;
  cache.blocks.reserve(weights_.blocks.size());
  for (size_t i = 0; i < weights_.blocks.size(); ++i)
    cache.blocks.push_back(prepare_block_context(block(i), text_tokens, image_tokens, settings_));
  for (const VaceBlockWeights& vace : weights_.vace_blocks)
    cache.vace_blocks.push_back(prepare_block_context(vace.block, text_tokens, {}, settings_));
  return cache;
}

void WanDiT::set_control(ContextCache& context, const at::Tensor& control, double scale) const {
  c10::InferenceMode guard(inference_mode_on(options_.device));
  RAYVID_CHECK(config_.is_vace(), BadArgument,
               "control states need a VACE transformer (this one has no vace_blocks)");
  const auto& patch = config_.patch_size;
  RAYVID_CHECK(control.dim() == 5 && control.size(1) == config_.vace_in_channels &&
                   (control.size(0) == 1 || control.size(0) == context.batch),
               BadArgument, "VACE control: expected [1 or {}, {}, frames, height, width], got [{}]",
               context.batch, config_.vace_in_channels, fmt::join(control.sizes(), ", "));
  for (int axis = 0; axis < 3; ++axis)
    RAYVID_CHECK(control.size(2 + axis) % patch[axis] == 0, BadArgument,
                 "VACE control [{}]: frames, height and width must be multiples of the patch",
                 fmt::join(control.sizes(), ", "));
  const Linear embedding{weights_.vace_patch_embedding.weight.view({config_.dim, -1}),
                         weights_.vace_patch_embedding.bias};
  const at::Tensor tokens = patchify(control.to(options_.device, settings_.dtype), patch);
  context.control = linear(tokens, embedding, settings_).expand({context.batch, -1, -1});
  context.control_scale = scale;
}

ContextCache first_rows(const ContextCache& context, int64_t rows) {
  RAYVID_CHECK(rows >= 1 && rows <= context.batch, Internal,
               "first_rows: {} rows of a batch-{} context", rows, context.batch);
  auto narrow = [&](const at::Tensor& t) { return t.defined() ? t.narrow(0, 0, rows) : t; };
  auto narrow_block = [&](const BlockContext& b) {
    return BlockContext{narrow(b.text_key), narrow(b.text_value), narrow(b.image_key),
                        narrow(b.image_value)};
  };
  ContextCache out;
  out.batch = rows;
  for (const BlockContext& b : context.blocks) out.blocks.push_back(narrow_block(b));
  for (const BlockContext& b : context.vace_blocks) out.vace_blocks.push_back(narrow_block(b));
  out.control = narrow(context.control);
  out.control_scale = context.control_scale;
  return out;
}

at::Tensor WanDiT::first_block_cached(at::Tensor x, const at::Tensor& time_proj,
                                      const TimestepGroups& groups, const ops::Rope3DTable& rope,
                                      const ContextCache& context,
                                      BlockResidualCache& cache) const {
  const int64_t batch = x.size(0);
  const at::Tensor input = x.clone();  // blocks update x in place
  x = block_forward(std::move(x), block(0), time_proj, groups, rope, context.blocks[0], settings_);
  const at::Tensor first = x.clone();           // [B, L, dim]: the first block's output
  const at::Tensor first_residual = x - input;  // [B, L, dim]
  std::vector<bool> run(batch, true);
  if (cache.first_residual.defined()) {
    // diffusers: mean|r - r_prev| / mean|r_prev| per context (here per row), in the hidden dtype.
    const at::Tensor change = (first_residual - cache.first_residual).abs().mean({1, 2}) /
                              cache.first_residual.abs().mean({1, 2});  // [B]
    const at::Tensor diff = change.to(at::kFloat).cpu();
    for (int64_t b = 0; b < batch; ++b)
      run[b] = static_cast<double>(diff[b].item<float>()) > cache.first_block_threshold;
  }
  cache.rows_ran = run;
  if (std::none_of(run.begin(), run.end(), [](bool r) { return r; }))
    return first + cache.residual;  // every row reuses the rest's residual
  for (size_t i = 1; i < weights_.blocks.size(); ++i)
    x = block_forward(std::move(x), block(i), time_proj, groups, rope, context.blocks[i],
                      settings_);
  if (!cache.first_residual.defined()) {  // the first step: every row ran
    cache.first_residual = first_residual;
    cache.residual = x - first;
    return x;
  }
  for (int64_t b = 0; b < batch; ++b) {
    if (run[b]) {  // this row ran the rest: its state moves on
      cache.first_residual[b].copy_(first_residual[b]);
      cache.residual[b].copy_(x[b] - first[b]);
    } else {  // this row reuses: its output is the first block's plus the stored rest
      x[b].copy_(first[b] + cache.residual[b]);
    }
  }
  return x;
}

at::Tensor WanDiT::vace_blocks(at::Tensor x, const at::Tensor& time_proj,
                               const TimestepGroups& groups, const ops::Rope3DTable& rope,
                               const ContextCache& context) const {
  RAYVID_CHECK(context.control.defined(), BadArgument,
               "this VACE transformer needs control states (WanDiT::set_control)");
  const int64_t length = x.size(1);
  at::Tensor c = context.control;  // [B, Lc, dim]
  RAYVID_CHECK(c.size(1) <= length, BadArgument,
               "VACE control has {} tokens, more than the latents' {}", c.size(1), length);
  if (c.size(1) < length)  // diffusers pads with zeros after the patch embedding
    c = at::cat({c, at::zeros({c.size(0), length - c.size(1), c.size(2)}, c.options())}, 1);
  const auto& w = weights_.vace_blocks;
  // VACE block 0 reads the patch-embedded latents, before any main block.
  c = linear(c, w[0].proj_in, settings_) + x;
  size_t k = 0;
  for (size_t i = 0; i < weights_.blocks.size(); ++i) {
    x = block_forward(std::move(x), block(i), time_proj, groups, rope, context.blocks[i],
                      settings_);
    if (k < w.size() && static_cast<int64_t>(i) == config_.vace_layers[k]) {
      c = block_forward(std::move(c), w[k].block, time_proj, groups, rope, context.vace_blocks[k],
                        settings_);
      const at::Tensor hint = linear(c, w[k].proj_out, settings_);  // [B, L, dim]
      x = context.control_scale == 1.0 ? x + hint : x + hint * context.control_scale;
      ++k;
    }
  }
  return x;
}

at::Tensor WanDiT::time_embedding(double timestep, bool projected) const {
  c10::InferenceMode guard(inference_mode_on(options_.device));
  const at::Tensor t = at::full({1}, timestep, at::TensorOptions().device(options_.device));
  const TimeEmbedding time = embed_time(t, weights_, config_, settings_);
  return (projected ? time.proj.flatten(1) : time.temb).to(at::kFloat);
}

at::Tensor WanDiT::forward(const at::Tensor& latents, const at::Tensor& timestep,
                           const ContextCache& context, BlockResidualCache* cache) const {
  c10::InferenceMode guard(inference_mode_on(options_.device));
  const auto& patch = config_.patch_size;
  RAYVID_CHECK(latents.dim() == 5 && latents.size(1) == config_.in_channels, BadArgument,
               "latents: expected [B, {}, frames, height, width], got [{}]", config_.in_channels,
               fmt::join(latents.sizes(), ", "));
  for (int axis = 0; axis < 3; ++axis)
    RAYVID_CHECK(latents.size(2 + axis) % patch[axis] == 0 && latents.size(2 + axis) > 0,
                 BadArgument,
                 "latents [{}]: frames, height and width must be multiples of the "
                 "patch size {}x{}x{}",
                 fmt::join(latents.sizes(), ", "), patch[0], patch[1], patch[2]);
  const int64_t batch = latents.size(0);
  RAYVID_CHECK(context.batch == batch && context.blocks.size() == weights_.blocks.size(),
               BadArgument, "the context cache holds batch {} for {} blocks; latents have batch {}",
               context.batch, context.blocks.size(), batch);
  const std::array<int64_t, 3> grid = {latents.size(2) / patch[0], latents.size(3) / patch[1],
                                       latents.size(4) / patch[2]};
  const auto rope = rope_cache_->get(grid);
  const TimestepGroups groups = group_timesteps(timestep, batch, grid, options_.device);
  const TimeEmbedding time = embed_time(groups.values, weights_, config_, settings_);

  const at::Tensor tokens = patchify(latents.to(options_.device, settings_.dtype), patch);
  const Linear patch_embedding{weights_.patch_embedding.weight.view({config_.dim, -1}),
                               weights_.patch_embedding.bias};
  at::Tensor x = linear(tokens, patch_embedding, settings_);  // [B, L, dim]

  RAYVID_CHECK(!config_.is_vace() || !cache, Unsupported,
               "step caching does not apply to a VACE transformer yet (its hints are not in the "
               "cached residual); run without --cache");
  if (config_.is_vace()) {
    x = vace_blocks(std::move(x), time.proj, groups, *rope, context);
  } else if (cache && cache->first_block_threshold > 0) {
    x = first_block_cached(std::move(x), time.proj, groups, *rope, context, *cache);
  } else if (cache && cache->reuse) {
    RAYVID_CHECK(cache->residual.defined() && cache->residual.sizes() == x.sizes(), Internal,
                 "step cache: no stored residual of shape [{}] to reuse",
                 fmt::join(x.sizes(), ", "));
    x = x + cache->residual;  // the blocks' contribution, as of the last step that ran them
  } else {
    const at::Tensor input = cache ? x.clone() : at::Tensor();  // blocks update x in place
    for (size_t i = 0; i < weights_.blocks.size(); ++i)
      x = block_forward(std::move(x), block(i), time.proj, groups, *rope, context.blocks[i],
                        settings_);
    if (cache) cache->residual = x - input;  // [B, L, dim]
  }

  // Output head (fp32 island): shift, scale = table + temb.
  const at::Tensor head = weights_.scale_shift_table[0] + time.temb.to(at::kFloat).unsqueeze(1);
  const at::Tensor shift = rows_for_groups(head.select(1, 0), groups);  // [B, G, dim]
  const at::Tensor scale = rows_for_groups(head.select(1, 1), groups);  // [B, G, dim]
  const at::Tensor h =
      ops::layer_norm_modulate(x, shift, scale, config_.eps, settings_.kernels);  // [B, L, dim]
  const at::Tensor out = linear(h, weights_.proj_out, settings_);  // [B, L, pt·ph·pw·C_out]
  return unpatchify(out, grid, patch);  // [B, C_out, F, H, W] in the compute dtype, as diffusers
}

}  // namespace rayvid::models::wan_dit
