// WanVAE: loading, chunked encode/decode, tiling decisions and the pipeline-side helpers.
// See wan_vae.h. The chunk loops are diffusers' AutoencoderKLWan._encode/_decode.
#include "models/wan_vae/wan_vae.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <array>

#include <fmt/ranges.h>

#include "core/check.h"
#include "core/device.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "models/wan_vae/memory_model.h"

namespace rayvid::models::wan_vae {
namespace {

constexpr int64_t kDefaultTile = 256;  // diffusers tile_sample_min_{height,width}

// Tile sizes, largest first, that Tiling::kAuto tries when the untiled pass does not fit.
constexpr std::array<int64_t, 7> kAutoTiles = {1024, 768, 512, 384, 256, 192, 128};

TilePlan resolve_tiles(const TileOptions& o, int64_t tile_h, int64_t tile_w, int64_t factor) {
  TilePlan plan;
  plan.tiled = true;
  plan.tile_height = o.tile_height > 0 ? o.tile_height : tile_h;
  plan.tile_width = o.tile_width > 0 ? o.tile_width : tile_w;
  const int64_t overlap_h = o.overlap_height > 0 ? o.overlap_height : plan.tile_height / 4;
  const int64_t overlap_w = o.overlap_width > 0 ? o.overlap_width : plan.tile_width / 4;
  plan.stride_height = plan.tile_height - overlap_h;
  plan.stride_width = plan.tile_width - overlap_w;
  RAYVID_CHECK(plan.tile_height % factor == 0 && plan.tile_width % factor == 0 &&
                   plan.stride_height % factor == 0 && plan.stride_width % factor == 0,
               BadArgument,
               "VAE tile {}x{} with overlap {}x{}: tile sizes and tile - overlap must be "
               "multiples of the VAE's spatial factor {}",
               plan.tile_width, plan.tile_height, overlap_w, overlap_h, factor);
  RAYVID_CHECK(plan.stride_height > 0 && plan.stride_width > 0, BadArgument,
               "VAE tile overlap {}x{} must be smaller than the tile {}x{}", overlap_w, overlap_h,
               plan.tile_width, plan.tile_height);
  return plan;
}

}  // namespace

WanVAE WanVAE::load(const std::filesystem::path& dir, c10::Device device, c10::ScalarType dtype) {
  const auto config = WanVAEConfig::from_json(io::JsonFile::load(dir / "config.json"));
  StoreSource source(io::WeightStore::open_folder(dir), dir.string());
  return from_source(config, source, device, dtype);
}

WanVAE WanVAE::from_source(const WanVAEConfig& config, const WeightSource& source,
                           c10::Device device, c10::ScalarType dtype) {
  config.validate();
  WanVAE vae;
  vae.config_ = config;
  vae.device_ = device;
  vae.dtype_ = dtype;
  WeightLoader loader(source, device, dtype);
  vae.encoder_ = Encoder3d::load(loader, "encoder", config);
  vae.quant_conv_ =
      CausalConv3d::load(loader, "quant_conv", config.z_dim * 2, config.z_dim * 2, {1, 1, 1});
  vae.post_quant_conv_ =
      CausalConv3d::load(loader, "post_quant_conv", config.z_dim, config.z_dim, {1, 1, 1});
  vae.decoder_ = Decoder3d::load(loader, "decoder", config);
  loader.finish();
  vae.shapes_ = loader.taken();
  for (const auto& [name, shape] : vae.shapes_) {
    uint64_t n = 1;
    for (int64_t d : shape) n *= static_cast<uint64_t>(d);
    vae.parameter_bytes_ += n * c10::elementSize(dtype);
  }
  return vae;
}

TilePlan WanVAE::plan_decode(const std::vector<int64_t>& shape, const DecodeOptions& o) const {
  const int64_t s = config_.scale_factor_spatial;
  const int64_t h = shape[3], w = shape[4];
  TilePlan untiled;
  if (o.tiling == Tiling::kOff) return untiled;
  TilePlan plan;
  if (o.tiling == Tiling::kOn) {
    plan = resolve_tiles(o, kDefaultTile, kDefaultTile, s);
  } else {
    uint64_t budget = o.memory_budget_bytes;
    if (budget == 0) budget = available_memory_bytes(device_) / 10 * 8;
    if (budget == 0) {
      plan = resolve_tiles(o, kDefaultTile, kDefaultTile, s);  // unknown: the reference default
    } else {
      if (estimate_decode_memory(config_, shape[0], shape[2], h, w, dtype_, untiled).total() <=
          budget) {
        return untiled;
      }
      for (int64_t tile : kAutoTiles) {
        plan = resolve_tiles(o, tile, tile, s);
        if (estimate_decode_memory(config_, shape[0], shape[2], h, w, dtype_, plan).total() <=
            budget) {
          break;
        }
      }
    }
  }
  // As diffusers: tile only when the latent is larger than one tile.
  if (w > plan.tile_width / s || h > plan.tile_height / s) return plan;
  return untiled;
}

TilePlan WanVAE::plan_encode(const std::vector<int64_t>& shape, const EncodeOptions& o) const {
  const int64_t height = shape[3], width = shape[4];
  TilePlan untiled;
  if (o.tiling == Tiling::kOff) return untiled;
  TilePlan plan;
  if (o.tiling == Tiling::kAuto) {
    // No separate encode model: the encoder is the smaller half, so tile when decoding the
    // same video would need tiles, with the same tiles.
    const int64_t s = config_.scale_factor_spatial;
    plan = plan_decode(
        {shape[0], config_.z_dim, config_.num_frames_latent(shape[2]), height / s, width / s}, o);
    if (!plan.tiled) return untiled;
  } else {
    plan = resolve_tiles(o, kDefaultTile, kDefaultTile, config_.scale_factor_spatial);
  }
  // diffusers compares the unpatchified size with the tile, then tiles the patchified video
  // with the same numbers (so Wan2.2 encode tiles cover twice the pixels).
  if (width > plan.tile_width || height > plan.tile_height) return plan;
  return untiled;
}

at::Tensor WanVAE::decode_untiled(const at::Tensor& z, bool finalize) const {
  const int64_t num_latent = z.size(2);
  FeatureCache cache;
  at::Tensor out;  // [B, 3, F, H, W] (finalize) or [B, C_out, F, H/p, W/p]
  int64_t frame = 0;
  for (int64_t i = 0; i < num_latent; ++i) {
    cache.begin_chunk();
    const at::Tensor zi = post_quant_conv_.forward(z.slice(2, i, i + 1));   // [B, z, 1, h, w]
    at::Tensor y = decoder_.forward(zi, &cache, /*first_chunk=*/i == 0);    // [B, C, 1|4, H', W']
    if (finalize) y = unpatchify(y, config_.patch_size).clamp_(-1.0, 1.0);  // [B, 3, 1|4, H, W]
    if (!out.defined()) {
      out = at::empty(
          {y.size(0), y.size(1), config_.num_frames_pixel(num_latent), y.size(3), y.size(4)},
          y.options());
    }
    RAYVID_CHECK(frame + y.size(2) <= out.size(2), Internal,
                 "VAE decode produced more frames than 1 + 4 * (T - 1)");
    out.slice(2, frame, frame + y.size(2)).copy_(y);
    frame += y.size(2);
  }
  RAYVID_CHECK(frame == out.size(2), Internal, "VAE decode produced {} frames, expected {}", frame,
               out.size(2));
  last_decode_cache_bytes_ = cache.bytes();
  return out;
}

at::Tensor WanVAE::decode(const at::Tensor& latent, const DecodeOptions& options) const {
  c10::InferenceMode guard(inference_mode_on(device_));
  RAYVID_CHECK(latent.dim() == 5 && latent.size(1) == config_.z_dim, BadArgument,
               "VAE decode expects a latent [B, {}, T, h, w], got [{}]", config_.z_dim,
               fmt::join(latent.sizes(), ", "));
  const at::Tensor z = latent.to(device_, dtype_);  // [B, z, T, h, w]
  const TilePlan plan = plan_decode(z.sizes().vec(), options);
  const int64_t p = config_.patch_size, s = config_.scale_factor_spatial;
  if (!plan.tiled) return decode_untiled(z, /*finalize=*/true);  // [B, 3, F, H, W]
  // Tiles are blended in the decoder's (patchified) output space, as diffusers does.
  const auto axis = [&](int64_t tile, int64_t stride, int64_t latent_size) {
    return TileAxis{tile / s, stride / s, stride / p, tile / p - stride / p, latent_size * s / p};
  };
  const at::Tensor out = run_tiled(
      z, axis(plan.tile_height, plan.stride_height, z.size(3)),
      axis(plan.tile_width, plan.stride_width, z.size(4)),
      [this](const at::Tensor& tile) { return decode_untiled(tile, false); });  // [B,C,F,H/p,W/p]
  return unpatchify(out, p).clamp_(-1.0, 1.0);                                  // [B, 3, F, H, W]
}

at::Tensor WanVAE::encode_untiled(const at::Tensor& x) const {
  const int64_t chunks = 1 + (x.size(2) - 1) / 4;
  FeatureCache cache;
  at::Tensor out;  // [B, z, T, h, w]
  for (int64_t i = 0; i < chunks; ++i) {
    cache.begin_chunk();
    const at::Tensor chunk = i == 0 ? x.slice(2, 0, 1) : x.slice(2, 1 + 4 * (i - 1), 1 + 4 * i);
    at::Tensor moments = quant_conv_.forward(encoder_.forward(chunk, &cache));  // [B, 2z, 1, h, w]
    if (!out.defined()) {
      out = at::empty({moments.size(0), config_.z_dim, chunks, moments.size(3), moments.size(4)},
                      moments.options());
    }
    out.slice(2, i, i + 1).copy_(moments.slice(1, 0, config_.z_dim));  // the mean half
  }
  return out;
}

at::Tensor WanVAE::encode(const at::Tensor& video, const EncodeOptions& options) const {
  c10::InferenceMode guard(inference_mode_on(device_));
  const int64_t s = config_.scale_factor_spatial, p = config_.patch_size;
  RAYVID_CHECK(video.dim() == 5 && video.size(1) == config_.image_channels(), BadArgument,
               "VAE encode expects a video [B, {}, F, H, W], got [{}]", config_.image_channels(),
               fmt::join(video.sizes(), ", "));
  RAYVID_CHECK((video.size(2) - 1) % config_.scale_factor_temporal == 0, BadArgument,
               "VAE encode needs 1 + 4k frames, got {}; trim or pad the clip", video.size(2));
  RAYVID_CHECK(video.size(3) % s == 0 && video.size(4) % s == 0, BadArgument,
               "VAE encode needs width and height divisible by {}, got {}x{}", s, video.size(4),
               video.size(3));
  const TilePlan plan = plan_encode(video.sizes().vec(), options);
  const at::Tensor x = patchify(video.to(device_, dtype_), p);  // [B, C_in, F, H/p, W/p]
  if (!plan.tiled) return encode_untiled(x);
  const int64_t r = s / p;  // patchified pixels per latent pixel
  const auto axis = [&](int64_t tile, int64_t stride, int64_t size) {
    return TileAxis{tile, stride, stride / r, tile / r - stride / r, size / r};
  };
  return run_tiled(x, axis(plan.tile_height, plan.stride_height, x.size(3)),
                   axis(plan.tile_width, plan.stride_width, x.size(4)),
                   [this](const at::Tensor& tile) { return encode_untiled(tile); });
}

namespace {

// A per-channel constant from vae/config.json as [1, z, 1, 1, 1], built in fp32 as torch.tensor
// does, then cast like `like`. `inverse`: 1 / value, computed in fp32 (diffusers' latents_std).
at::Tensor channel_constant(const std::vector<double>& values, const at::Tensor& like,
                            bool inverse) {
  at::Tensor t = at::tensor(std::vector<float>(values.begin(), values.end()),
                            at::TensorOptions().dtype(at::kFloat));  // [z]
  if (inverse) t = 1.0 / t;
  return t.view({1, -1, 1, 1, 1}).to(like.device(), like.scalar_type());  // [1, z, 1, 1, 1]
}

}  // namespace

at::Tensor WanVAE::normalize_latents(const at::Tensor& mu) const {
  c10::InferenceMode guard(inference_mode_on(mu.device()));
  const at::Tensor mean = channel_constant(config_.latents_mean, mu, false);
  const at::Tensor inv_std = channel_constant(config_.latents_std, mu, true);
  return (mu - mean) * inv_std;  // [B, z, T, h, w]
}

at::Tensor WanVAE::denormalize_latents(const at::Tensor& z) const {
  c10::InferenceMode guard(inference_mode_on(z.device()));
  const at::Tensor mean = channel_constant(config_.latents_mean, z, false);
  const at::Tensor inv_std = channel_constant(config_.latents_std, z, true);
  return z / inv_std + mean;  // [B, z, T, h, w]
}

io::VideoFrames to_frames(const at::Tensor& video) {
  c10::InferenceMode guard(inference_mode_on(video.device()));
  RAYVID_CHECK(video.dim() == 5 && video.size(0) == 1 && video.size(1) == 3, BadArgument,
               "to_frames expects a video [1, 3, F, H, W], got [{}]",
               fmt::join(video.sizes(), ", "));
  at::Tensor v = video[0].to(at::kCPU, at::kFloat).permute({1, 2, 3, 0});  // [F, H, W, 3]
  v = (v * 0.5 + 0.5).clamp_(0.0, 1.0);
  const at::Tensor bytes = (v * 255.0).to(at::kByte).contiguous();  // truncates, as numpy astype
  io::VideoFrames frames;
  frames.num_frames = static_cast<int>(video.size(2));
  frames.height = static_cast<int>(video.size(3));
  frames.width = static_cast<int>(video.size(4));
  frames.rgb.assign(bytes.data_ptr<uint8_t>(), bytes.data_ptr<uint8_t>() + bytes.numel());
  return frames;
}

}  // namespace rayvid::models::wan_vae
