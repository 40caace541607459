// The decode memory model: see memory_model.h.
//
// It walks the decoder of a config the way Decoder3d::forward runs one steady-state chunk (one
// latent frame in, 4 pixel frames out) and counts, per phase, the tensors alive at that moment:
//   residual block (A = activation bytes of one chunk at that level, F = one frame of it):
//     norm:  x + shortcut + y            (+ the fp32 copies x32 and y32 for bf16/fp16)
//     conv:  x + shortcut + y + cat(T + 2 frames) + out + keep(2 frames)
//   upsampler: x + (3d: time-conv output 2A + interleaved 2A) + out + one fp32 upsampled frame
//   Wan2.2 stage shortcut: the stage input stays alive through the stage; DupUp3D adds a
//   repeated copy (out_channels * factor / in_channels times the input).
// The cache holds two frames at the input of each 3x3x3 conv and each temporal resampler.
// oneDNN convolutions on the CPU also reorder input and output into blocked layouts; that is
// counted as one more copy of the conv input and output (kConvScratch).
#include "models/wan_vae/memory_model.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace rayvid::models::wan_vae {
namespace {

constexpr double kConvScratch = 1.0;  // extra copies of (conv input + output) inside the conv

struct Walk {
  int64_t batch = 1;
  uint64_t elem = 4;  // bytes per element in the compute dtype
  bool low_precision = false;
  uint64_t cache = 0;
  uint64_t peak = 0;
  std::string peak_layer;

  uint64_t bytes(int64_t c, int64_t t, int64_t h, int64_t w) const {
    return static_cast<uint64_t>(batch) * c * t * h * w * elem;
  }
  void phase(uint64_t live, const std::string& where) {
    if (live > peak) {
      peak = live;
      peak_layer = where;
    }
  }
  // A cached 3x3x3 conv on input x (held by the caller together with `held` bytes).
  void conv(int64_t c_in, int64_t c_out, int64_t t, int64_t h, int64_t w, uint64_t held,
            const std::string& where) {
    cache += bytes(c_in, 2, h, w);
    const uint64_t cat = bytes(c_in, t + 2, h, w), out = bytes(c_out, t, h, w);
    const uint64_t keep = bytes(c_in, 2, h, w);
    phase(held + bytes(c_in, t, h, w) + cat + out + keep +
              static_cast<uint64_t>(kConvScratch * static_cast<double>(cat + out)),
          where);
  }
  void norm(int64_t c, int64_t t, int64_t h, int64_t w, uint64_t held, const std::string& where) {
    const uint64_t a = bytes(c, t, h, w);
    const uint64_t extra = low_precision ? a / elem * 4 * 2 : 0;  // x32 and y32
    phase(held + a + a + extra, where);
  }
  void resblock(int64_t c_in, int64_t c_out, int64_t t, int64_t h, int64_t w, uint64_t held,
                const std::string& where) {
    const uint64_t x = bytes(c_in, t, h, w);
    const uint64_t sc = c_in != c_out ? bytes(c_out, t, h, w) : 0;
    norm(c_in, t, h, w, held + x + sc, where + ".norm1");
    conv(c_in, c_out, t, h, w, held + x + sc, where + ".conv1");
    norm(c_out, t, h, w, held + x + sc, where + ".norm2");
    conv(c_out, c_out, t, h, w, held + x + sc, where + ".conv2");
  }
};

}  // namespace

uint64_t decode_cache_bytes(const WanVAEConfig& config, int64_t batch, int64_t latent_height,
                            int64_t latent_width, c10::ScalarType dtype) {
  const TilePlan untiled;
  // The cache does not depend on the number of frames (steady state from the third chunk on).
  auto estimate =
      estimate_decode_memory(config, batch, 3, latent_height, latent_width, dtype, untiled);
  return estimate.feature_cache;
}

DecodeMemoryEstimate estimate_decode_memory(const WanVAEConfig& cfg, int64_t batch,
                                            int64_t num_frames_latent, int64_t latent_height,
                                            int64_t latent_width, c10::ScalarType dtype,
                                            const TilePlan& plan) {
  DecodeMemoryEstimate est;
  Walk walk;
  walk.batch = batch;
  walk.elem = c10::elementSize(dtype);
  walk.low_precision = dtype != at::kFloat && dtype != at::kDouble;
  const int64_t s = cfg.scale_factor_spatial, p = cfg.patch_size;
  const int64_t frames = cfg.num_frames_pixel(num_frames_latent);
  const int64_t out_h = latent_height * s, out_w = latent_width * s;

  // One pass (the whole latent, or one tile of it).
  int64_t h = latent_height, w = latent_width;
  if (plan.tiled) {
    h = std::min(h, plan.tile_height / s);
    w = std::min(w, plan.tile_width / s);
  }
  const int64_t tile_h = h, tile_w = w;  // the walk below scales h, w up stage by stage
  const auto dims = cfg.decoder_dims();
  const auto temporal_up = cfg.temperal_upsample();
  int64_t t = 1;
  walk.conv(cfg.z_dim, dims[0], t, h, w, 0, "conv_in");
  const int64_t c0 = dims[0];
  walk.resblock(c0, c0, t, h, w, 0, "mid_block.resnets.0");
  {
    const uint64_t a = walk.bytes(c0, t, h, w);
    walk.phase(a + a + 3 * a + 3 * a + a, "mid_block.attentions.0");  // x, norm, qkv x2, out
  }
  walk.resblock(c0, c0, t, h, w, 0, "mid_block.resnets.1");
  for (int64_t i = 0; i < cfg.num_stages(); ++i) {
    const std::string name = fmt::format("up_blocks.{}", i);
    const int64_t in = (i > 0 && !cfg.is_residual) ? dims[i] / 2 : dims[i];
    const int64_t out = dims[i + 1];
    const bool up = i != cfg.num_stages() - 1;
    const bool temporal = up && temporal_up[i];
    const uint64_t stage_in = (cfg.is_residual && up) ? walk.bytes(in, t, h, w) : 0;
    for (int64_t j = 0; j <= cfg.num_res_blocks; ++j) {
      walk.resblock(j == 0 ? in : out, out, t, h, w, stage_in,
                    fmt::format("{}.resnets.{}", name, j));
    }
    if (!up) continue;
    const int64_t c_up = cfg.is_residual ? out : out / 2;
    const uint64_t x = walk.bytes(out, t, h, w);
    uint64_t live = stage_in + x;
    int64_t t_up = t;
    if (temporal) {
      walk.cache += walk.bytes(out, 2, h, w);
      walk.phase(stage_in + x + 4 * x, name + ".upsampler.time_conv");
      live += 2 * x;
      t_up = 2 * t;
    }
    const uint64_t y_out = walk.bytes(c_up, t_up, 2 * h, 2 * w);
    const uint64_t frame32 = static_cast<uint64_t>(batch) * out * 4 * h * w * 4;
    const uint64_t frame_conv = walk.bytes(c_up, 1, 2 * h, 2 * w);
    walk.phase(live + y_out + frame32 + frame_conv, name + ".upsampler");
    if (cfg.is_residual) {
      // DupUp3D: repeat_interleave of the stage input, added in place into the output
      walk.phase(stage_in + y_out + stage_in * (c_up * (temporal ? 8 : 4) / in), name + ".dup_up");
    }
    t = t_up;
    h *= 2;
    w *= 2;
  }
  const int64_t c_last = dims.back();
  {
    const uint64_t x = walk.bytes(c_last, t, h, w);
    walk.norm(c_last, t, h, w, x, "norm_out");
    walk.conv(c_last, cfg.out_channels, t, h, w, 0, "conv_out");
  }
  est.feature_cache = walk.cache;
  est.activations = walk.peak;
  est.peak_layer = walk.peak_layer;

  // Parameters: count them from the architecture the loader builds (both halves are loaded).
  // Kept cheap: conv weights dominate, so count every conv the walk above and the encoder have.
  // (Exact counts come from WanVAE::parameter_bytes(); this is the same formula.)
  {
    uint64_t params = 0;
    const auto conv3 = [&](int64_t ci, int64_t co, int64_t k) {
      params += static_cast<uint64_t>(co) * ci * k + co;
    };
    const auto res = [&](int64_t ci, int64_t co) {
      params += ci + co;  // gammas
      conv3(ci, co, 27);
      conv3(co, co, 27);
      if (ci != co) conv3(ci, co, 1);
    };
    const auto mid = [&](int64_t c) {
      res(c, c);
      res(c, c);
      params += c;
      conv3(c, 3 * c, 1);
      conv3(c, c, 1);
    };
    const auto enc = cfg.encoder_dims();
    conv3(cfg.in_channels, enc[0], 27);
    for (int64_t i = 0; i < cfg.num_stages(); ++i) {
      int64_t ci = enc[i];
      for (int64_t j = 0; j < cfg.num_res_blocks; ++j) {
        res(ci, enc[i + 1]);
        ci = enc[i + 1];
      }
      if (i != cfg.num_stages() - 1) {
        conv3(ci, ci, 9);
        if (cfg.temperal_downsample[i]) conv3(ci, ci, 3);
      }
    }
    mid(enc.back());
    params += enc.back();
    conv3(enc.back(), 2 * cfg.z_dim, 27);
    conv3(2 * cfg.z_dim, 2 * cfg.z_dim, 1);
    conv3(cfg.z_dim, cfg.z_dim, 1);
    conv3(cfg.z_dim, dims[0], 27);
    mid(dims[0]);
    for (int64_t i = 0; i < cfg.num_stages(); ++i) {
      const int64_t in = (i > 0 && !cfg.is_residual) ? dims[i] / 2 : dims[i];
      for (int64_t j = 0; j <= cfg.num_res_blocks; ++j) res(j == 0 ? in : dims[i + 1], dims[i + 1]);
      if (i != cfg.num_stages() - 1) {
        const int64_t c = dims[i + 1];
        conv3(c, cfg.is_residual ? c : c / 2, 9);
        if (temporal_up[i]) conv3(c, 2 * c, 3);
      }
    }
    params += c_last;
    conv3(c_last, cfg.out_channels, 27);
    est.weights = params * walk.elem;
  }

  // Inputs and outputs: the latent and the video; tiled: the video assembled patchified and its
  // unpatchified copy, one tile's output over all frames and the blend strips.
  const uint64_t latent = walk.bytes(cfg.z_dim, num_frames_latent, latent_height, latent_width);
  const int64_t c_out = cfg.out_channels;
  const uint64_t output = walk.bytes(c_out, frames, out_h / p, out_w / p);
  est.io = latent + output;  // untiled: each chunk is unpatchified straight into the video
  if (plan.tiled) {
    est.io += p > 1 ? output : 0;  // tiles are blended patchified, then unpatchified at the end
    const int64_t th = tile_h * s / p, tw = tile_w * s / p;
    const int64_t blend_h = (plan.tile_height - plan.stride_height) / p;
    const int64_t blend_w = (plan.tile_width - plan.stride_width) / p;
    const int64_t cols = (latent_width + plan.stride_width / s - 1) / (plan.stride_width / s);
    est.io += walk.bytes(c_out, frames, th, tw) +  // the tile being decoded
              walk.bytes(c_out, frames, std::min(blend_h, th), tw) * 2 * cols +  // row strips
              walk.bytes(c_out, frames, th, std::min(blend_w, tw));              // left strip
  }
  return est;
}

uint64_t available_memory_bytes(c10::Device device) {
  if (!device.is_cpu()) return 0;
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemAvailable:", 0) == 0) {
      std::istringstream in(line.substr(13));
      uint64_t kib = 0;
      in >> kib;
      return kib * 1024;
    }
  }
  return 0;
}

}  // namespace rayvid::models::wan_vae
