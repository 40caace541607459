// Changes of resolution: the learned resamplers (diffusers WanResample: 2x spatial down/up,
// optionally with a causal temporal conv), the parameter-free shortcuts of the Wan2.2 VAE
// (AvgDown3D, DupUp3D) and the 2x2 patchify/unpatchify around the Wan2.2 VAE.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "models/wan_vae/causal_conv.h"
#include "models/weights.h"

namespace rayvid::models::wan_vae {

enum class ResampleMode { kUpsample2d, kUpsample3d, kDownsample2d, kDownsample3d };

struct Resample {
  ResampleMode mode = ResampleMode::kUpsample2d;
  Conv2d conv;  // resample.1: 3x3; up: C -> C_out (C/2 in Wan2.1), down: C -> C, stride 2
  CausalConv3d time_conv;  // 3d modes: up C -> 2C (3,1,1) pad 1; down C -> C (3,1,1) stride 2

  // `upsample_out_dim`: channels after an upsampler (diffusers default dim / 2).
  static Resample load(WeightLoader& loader, const std::string& prefix, int64_t dim,
                       ResampleMode mode, int64_t upsample_out_dim);
  // [B, C, T, H, W] -> [B, C', T', H', W']. The temporal parts run only with a cache (as in the
  // reference, which always decodes and encodes chunked). Takes one cache slot in 3d modes.
  at::Tensor forward(const at::Tensor& x, FeatureCache* cache) const;

 private:
  at::Tensor spatial(const at::Tensor& x) const;  // per frame: (pad|upsample) + conv2d
};

// Space/time-to-channel by (factor_t, factor_s, factor_s), then the mean over groups of channels
// so that out_channels remain. Pads the front of time with zeros to a multiple of factor_t.
at::Tensor avg_down_3d(const at::Tensor& x, int64_t out_channels, int64_t factor_t,
                       int64_t factor_s);
// Channel repeat, then channel-to-space/time; on the first chunk the first factor_t - 1 frames
// are dropped (a causal first frame has no predecessors to fill).
at::Tensor dup_up_3d(const at::Tensor& x, int64_t out_channels, int64_t factor_t, int64_t factor_s,
                     bool first_chunk);
// y + dup_up_3d(x, ...), adding in place into y where it can (not on the first chunk): the same
// values without the permuted copy and the sum buffer.
at::Tensor add_dup_up_3d(at::Tensor y, const at::Tensor& x, int64_t out_channels, int64_t factor_t,
                         int64_t factor_s, bool first_chunk);

// [B, C, F, H, W] -> [B, C*p*p, F, H/p, W/p]; channel index c*p*p + q*p + r for column offset q
// and row offset r (diffusers permute (0, 1, 6, 4, 2, 3, 5)).
at::Tensor patchify(const at::Tensor& x, int64_t patch_size);
at::Tensor unpatchify(const at::Tensor& x, int64_t patch_size);  // the inverse

}  // namespace rayvid::models::wan_vae
