// FLOP, memory and roofline-floor arithmetic of the cost planner. The hand counts these formulas
// are checked against are in tests/bench/cost_model_test.cpp.
#include "tools/bench/cost_model.h"

#include <algorithm>

#include "core/check.h"

namespace rayvid::tools::bench {
namespace {

// umT5-XXL encoder, one prompt of 512 tokens: 2 FLOPs x non-embedding parameters x tokens
// (the 1.05B embedding rows are a lookup) plus attention 4 x 512^2 x 4096 per layer.
double umt5_flops() {
  const double params = static_cast<double>(kUmt5XxlParameters) - 256384.0 * 4096.0;
  return 2.0 * params * 512 + 24 * 4.0 * 512.0 * 512.0 * 4096.0;
}

}  // namespace

Tokens count_tokens(const ArchSpec& arch, const pipeline::VideoShape& shape) {
  const int64_t stride = arch.token_stride();
  RAYVID_CHECK(shape.width > 0 && shape.height > 0 && shape.frames > 0 &&
                   shape.width % stride == 0 && shape.height % stride == 0 &&
                   (shape.frames - 1) % 4 == 0,
               BadArgument,
               "{} needs width and height that are multiples of {} and frames = 4n+1; got {}x{}x{}",
               arch.name, stride, shape.width, shape.height, shape.frames);
  Tokens t;
  t.latent_frames = (shape.frames - 1) / 4 + 1;
  t.latent_height = shape.height / arch.vae_stride;
  t.latent_width = shape.width / arch.vae_stride;
  t.video = t.latent_frames * (shape.height / stride) * (shape.width / stride);
  t.context = arch.text_tokens + arch.image_tokens;
  return t;
}

ForwardFlops dit_forward_flops(const ArchSpec& a, const Tokens& t) {
  const double L = static_cast<double>(t.video), C = static_cast<double>(t.context);
  const double d = static_cast<double>(a.dim), f = static_cast<double>(a.ffn_dim);
  const double layers = static_cast<double>(a.layers);
  ForwardFlops out;
  // Blocks: q,k,v,o (self) and q,o (cross) on L tokens, FFN up and down, k,v of the context.
  out.linear = layers * (2.0 * L * (6.0 * d * d + 2.0 * d * f) + 2.0 * C * 2.0 * d * d);
  // Embeddings and head: patch conv, text MLP on 512 rows, CLIP MLP on 257 rows, time MLP and
  // projection (one timestep; TI2V's per-token timesteps take two distinct values), output head.
  const double patch_in = static_cast<double>(a.in_channels * a.patch * a.patch);
  const double patch_out = static_cast<double>(a.out_channels * a.patch * a.patch);
  out.linear += 2.0 * L * patch_in * d + 2.0 * L * d * patch_out;
  out.linear += 2.0 * a.text_tokens * (a.text_dim * d + d * d);
  if (a.image_tokens > 0) {
    const double c = static_cast<double>(a.image_dim);
    out.linear += 2.0 * a.image_tokens * (c * c + c * d);
  }
  out.linear += 2.0 * (a.freq_dim * d + d * d + 6.0 * d * d);
  // Attention: self QK^T and PV over L keys, cross over C keys; all heads together span d.
  out.attention = layers * (4.0 * L * L * d + 4.0 * L * C * d);
  return out;
}

double vae_decode_flops(const ArchSpec& arch, const pipeline::VideoShape& shape) {
  // MACs per output pixel-frame, summed over the decoder's convolutions at their resolutions (see
  // the test for the Wan2.1 count); Wan2.2 from wan-family.md 6.4 (2.0 PFLOP at 1280x704x121).
  const double flops_per_pixel_frame = arch.vae == "wan2.2" ? 18.3e6 : 8.48e6;
  return flops_per_pixel_frame * shape.width * shape.height * shape.frames;
}

engine::ModelMemoryFacts memory_facts(const ArchSpec& a) {
  engine::ModelMemoryFacts m;
  m.dit_parameters = static_cast<double>(dit_parameters(a));
  m.experts = a.experts;
  m.dit_dim = a.dim, m.dit_ffn = a.ffn_dim, m.dit_layers = a.layers;
  m.token_stride = a.token_stride();
  m.text_tokens = a.text_tokens, m.image_tokens = a.image_tokens;
  m.text_encoder_parameters = static_cast<double>(kUmt5XxlParameters);
  if (a.needs_clip) m.image_encoder_parameters = static_cast<double>(kClipVitHParameters);
  m.vae = a.vae == "wan2.2" ? models::wan_vae::WanVAEConfig::wan22()
                            : models::wan_vae::WanVAEConfig::wan21();
  return m;
}

MemoryPlan plan_memory(const ArchSpec& a, const pipeline::VideoShape& shape, double dtype_bytes,
                       bool guided) {
  engine::MemorySettings s;
  s.dtype_bytes = static_cast<int64_t>(dtype_bytes);
  s.guided = guided;
  s.gpu = true;
  s.profile = engine::MemoryProfile::kMax;
  const engine::MemoryEstimate e = engine::estimate_memory(memory_facts(a), shape, s);
  MemoryPlan m;
  m.dit_weights = e.dit_weights * a.experts;
  m.text_encoder_weights = e.text_encoder;
  m.other_weights = e.vae_weights + e.image_encoder;
  m.dit_activations = e.dit_activations + e.context_cache;
  m.vae_decode = e.vae_decode;
  m.peak = e.device_peak;
  return m;
}

CostPlan plan_cost(const ArchSpec& arch, const pipeline::VideoShape& shape,
                   const DeviceSpec& device, int steps, bool guided, double dtype_bytes) {
  RAYVID_CHECK(steps > 0, BadArgument, "--steps must be positive, got {}", steps);
  RAYVID_CHECK(device.matmul_tflops > 0 && device.bandwidth_gbs > 0, BadArgument,
               "device {} needs positive TFLOP/s and bandwidth", device.name);
  CostPlan p;
  p.arch = arch;
  p.device = device;
  p.shape = shape;
  p.tokens = count_tokens(arch, shape);
  p.steps = steps;
  p.guided = guided;
  p.dtype_bytes = dtype_bytes;
  p.forward = dit_forward_flops(arch, p.tokens);
  p.vae_flops = vae_decode_flops(arch, shape);
  p.text_encoder_flops = (guided ? 2 : 1) * umt5_flops();
  p.memory = plan_memory(arch, shape, dtype_bytes, guided);
  const double peak = device.matmul_tflops * 1e12, bandwidth = device.bandwidth_gbs * 1e9;
  // A forward reads every weight of the active expert once; activations mostly stay in cache.
  const double forward_bytes = static_cast<double>(dit_parameters(arch)) * dtype_bytes;
  p.forward_seconds = std::max(p.forward.total() / peak, forward_bytes / bandwidth);
  p.step_seconds = (guided ? 2 : 1) * p.forward_seconds;
  p.vae_seconds = std::max(p.vae_flops / peak, p.memory.vae_decode / bandwidth);
  p.run_seconds = p.text_encoder_flops / peak + steps * p.step_seconds + p.vae_seconds;
  p.fits = p.memory.peak <= device.memory_gb * 1e9;
  return p;
}

}  // namespace rayvid::tools::bench
