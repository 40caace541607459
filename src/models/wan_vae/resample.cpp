// Resamplers, residual shortcuts and patchify: see resample.h.
#include "models/wan_vae/resample.h"

#include <ATen/ATen.h>

#include "core/check.h"

namespace rayvid::models::wan_vae {

Resample Resample::load(WeightLoader& loader, const std::string& prefix, int64_t dim,
                        ResampleMode mode, int64_t upsample_out_dim) {
  Resample r;
  r.mode = mode;
  switch (mode) {
    case ResampleMode::kUpsample2d:
      r.conv = Conv2d::load(loader, prefix + ".resample.1", dim, upsample_out_dim, 3, 1, 1);
      break;
    case ResampleMode::kUpsample3d:
      r.conv = Conv2d::load(loader, prefix + ".resample.1", dim, upsample_out_dim, 3, 1, 1);
      r.time_conv = CausalConv3d::load(loader, prefix + ".time_conv", dim, dim * 2, {3, 1, 1},
                                       {1, 1, 1}, {1, 0, 0});
      break;
    case ResampleMode::kDownsample2d:
      r.conv = Conv2d::load(loader, prefix + ".resample.1", dim, dim, 3, 2, 0);
      break;
    case ResampleMode::kDownsample3d:
      r.conv = Conv2d::load(loader, prefix + ".resample.1", dim, dim, 3, 2, 0);
      r.time_conv = CausalConv3d::load(loader, prefix + ".time_conv", dim, dim, {3, 1, 1},
                                       {2, 1, 1}, {0, 0, 0});
      break;
  }
  return r;
}

at::Tensor Resample::spatial(const at::Tensor& x) const {
  const int64_t b = x.size(0), t = x.size(2);
  const bool up = mode == ResampleMode::kUpsample2d || mode == ResampleMode::kUpsample3d;
  const int64_t h_out = up ? x.size(3) * 2 : (x.size(3) - 2) / 2 + 1;
  const int64_t w_out = up ? x.size(4) * 2 : (x.size(4) - 2) / 2 + 1;
  at::Tensor out = at::empty({b, conv.weight.size(0), t, h_out, w_out}, x.options());
  // Frame by frame: the reference runs the 2D path on [B*T, C, H, W] at once; per frame the
  // values are the same and the 4x upsampled intermediate exists for one frame only.
  for (int64_t i = 0; i < t; ++i) {
    at::Tensor frame = x.select(2, i);  // [B, C, H, W]
    if (up) {
      // nearest-exact 2x in fp32, back to x's dtype (diffusers WanUpsample)
      frame = at::_upsample_nearest_exact2d(frame.to(at::kFloat),
                                            {frame.size(2) * 2, frame.size(3) * 2})
                  .to(x.scalar_type());  // [B, C, 2H, 2W]
    } else {
      frame = at::constant_pad_nd(frame, {0, 1, 0, 1}, 0.0);  // [B, C, H+1, W+1] (ZeroPad2d)
    }
    out.select(2, i).copy_(conv.forward(frame));  // [B, C', H', W']
  }
  return out;  // [B, C', T, H', W']
}

at::Tensor Resample::forward(const at::Tensor& x, FeatureCache* cache) const {
  using State = FeatureCache::Slot::State;
  at::Tensor y = x;  // [B, C, T, H, W]
  if (mode == ResampleMode::kUpsample3d && cache != nullptr) {
    auto& slot = cache->take();
    if (slot.state == State::kEmpty) {
      // first chunk: no temporal upsampling; mark the slot ("Rep")
      slot.state = State::kRep;
    } else {
      const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
      at::Tensor keep = x.slice(2, std::max<int64_t>(t - 2, 0)).clone();  // [B, C, <=2, H, W]
      if (keep.size(2) < 2) {
        // second chunk: a zero frame stands in for the first chunk, which was not upsampled
        at::Tensor before =
            slot.state == State::kFrames ? slot.frames.slice(2, -1) : at::zeros_like(keep);
        keep = at::cat({before, keep}, 2);  // [B, C, 2, H, W]
      }
      at::Tensor tc = slot.state == State::kRep
                          ? time_conv.forward(x)
                          : time_conv.forward(x, slot.frames);  // [B,2C,T,H,W]
      slot.frames = std::move(keep);
      slot.state = State::kFrames;
      // the two channel halves become two consecutive frames
      tc = tc.reshape({b, 2, c, t, h, w});
      y = at::stack({tc.select(1, 0), tc.select(1, 1)}, 3)
              .reshape({b, c, t * 2, h, w});  // [B,C,2T,H,W]
    }
  }
  y = spatial(y);  // [B, C', T', H', W']
  if (mode == ResampleMode::kDownsample3d && cache != nullptr) {
    auto& slot = cache->take();
    if (slot.state == State::kEmpty) {
      // first chunk: no temporal downsampling; only the last frame is ever read back
      slot.frames = y.slice(2, -1).clone();  // [B, C, 1, H, W]
      slot.state = State::kFrames;
    } else {
      at::Tensor keep = y.slice(2, -1).clone();  // [B, C, 1, H, W]
      y = time_conv.forward(
          at::cat({slot.frames.slice(2, -1), y}, 2));  // [B, C, (T+1-3)/2+1, H, W]
      slot.frames = std::move(keep);
    }
  }
  return y;
}

at::Tensor avg_down_3d(const at::Tensor& x, int64_t out_channels, int64_t factor_t,
                       int64_t factor_s) {
  const int64_t pad_t = (factor_t - x.size(2) % factor_t) % factor_t;
  const at::Tensor xp = pad_t > 0 ? at::constant_pad_nd(x, {0, 0, 0, 0, pad_t, 0}, 0.0) : x;
  const int64_t b = xp.size(0), c = xp.size(1), t = xp.size(2), h = xp.size(3), w = xp.size(4);
  const int64_t factor = factor_t * factor_s * factor_s;
  const int64_t group = c * factor / out_channels;
  at::Tensor y = xp.view({b, c, t / factor_t, factor_t, h / factor_s, factor_s, w / factor_s,
                          factor_s});                    // [B,C,T',ft,H',fs,W',fs]
  y = y.permute({0, 1, 3, 5, 7, 2, 4, 6}).contiguous();  // [B,C,ft,fs,fs,T',H',W']
  y = y.view({b, out_channels, group, t / factor_t, h / factor_s, w / factor_s});  // [B,Co,g,...]
  return y.mean(2);  // [B, C_out, T', H', W']
}

at::Tensor dup_up_3d(const at::Tensor& x, int64_t out_channels, int64_t factor_t, int64_t factor_s,
                     bool first_chunk) {
  const int64_t factor = factor_t * factor_s * factor_s;
  const int64_t repeats = out_channels * factor / x.size(1);
  const int64_t b = x.size(0), t = x.size(2), h = x.size(3), w = x.size(4);
  at::Tensor y = x.repeat_interleave(repeats, 1);  // [B, C_out*factor, T, H, W]
  y = y.view({b, out_channels, factor_t, factor_s, factor_s, t, h, w});
  y = y.permute({0, 1, 5, 2, 6, 3, 7, 4}).contiguous();  // [B, Co, T, ft, H, fs, W, fs]
  y = y.view({b, out_channels, t * factor_t, h * factor_s, w * factor_s});  // [B, Co, T', H', W']
  if (first_chunk) y = y.slice(2, factor_t - 1);
  return y;
}

at::Tensor add_dup_up_3d(at::Tensor y, const at::Tensor& x, int64_t out_channels, int64_t factor_t,
                         int64_t factor_s, bool first_chunk) {
  if (first_chunk || !y.is_contiguous()) {
    return y + dup_up_3d(x, out_channels, factor_t, factor_s, first_chunk);
  }
  const int64_t factor = factor_t * factor_s * factor_s;
  const int64_t repeats = out_channels * factor / x.size(1);
  const int64_t b = x.size(0), t = x.size(2), h = x.size(3), w = x.size(4);
  at::Tensor dup = x.repeat_interleave(repeats, 1);  // [B, C_out*factor, T, H, W]
  dup = dup.view({b, out_channels, factor_t, factor_s, factor_s, t, h, w})
            .permute({0, 1, 5, 2, 6, 3, 7, 4});  // [B, Co, T, ft, H, fs, W, fs] (strided view)
  y.view({b, out_channels, t, factor_t, h, factor_s, w, factor_s}).add_(dup);
  return y;
}

at::Tensor patchify(const at::Tensor& x, int64_t p) {
  if (p == 1) return x;
  const int64_t b = x.size(0), c = x.size(1), f = x.size(2), h = x.size(3), w = x.size(4);
  RAYVID_CHECK(h % p == 0 && w % p == 0, BadArgument,
               "video size {}x{} must be divisible by the VAE patch size {}", w, h, p);
  at::Tensor y = x.reshape({b, c, f, h / p, p, w / p, p});  // [B, C, F, H/p, r, W/p, q]
  y = y.permute({0, 1, 6, 4, 2, 3, 5}).contiguous();        // [B, C, q, r, F, H/p, W/p]
  return y.view({b, c * p * p, f, h / p, w / p});           // [B, C*p*p, F, H/p, W/p]
}

at::Tensor unpatchify(const at::Tensor& x, int64_t p) {
  if (p == 1) return x;
  const int64_t b = x.size(0), c = x.size(1) / (p * p), f = x.size(2), h = x.size(3), w = x.size(4);
  at::Tensor y = x.view({b, c, p, p, f, h, w});       // [B, C, q, r, F, H, W]
  y = y.permute({0, 1, 4, 5, 3, 6, 2}).contiguous();  // [B, C, F, H, r, W, q]
  return y.view({b, c, f, h * p, w * p});             // [B, C, F, H*p, W*p]
}

}  // namespace rayvid::models::wan_vae
