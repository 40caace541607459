// CausalConv3d, Conv2d and the feature cache: see causal_conv.h.
#include "models/wan_vae/causal_conv.h"

#include <ATen/ATen.h>

namespace rayvid::models::wan_vae {

FeatureCache::Slot& FeatureCache::take() {
  if (next_ == slots_.size()) slots_.emplace_back();
  return slots_[next_++];
}

size_t FeatureCache::bytes() const {
  size_t total = 0;
  for (const auto& slot : slots_) {
    if (slot.frames.defined()) total += slot.frames.nbytes();
  }
  return total;
}

CausalConv3d CausalConv3d::load(WeightLoader& loader, const std::string& prefix, int64_t in,
                                int64_t out, std::array<int64_t, 3> kernel,
                                std::array<int64_t, 3> stride, std::array<int64_t, 3> padding) {
  CausalConv3d conv;
  conv.weight = loader.take(prefix + ".weight", {out, in, kernel[0], kernel[1], kernel[2]});
  conv.bias = loader.take(prefix + ".bias", {out});
  conv.stride = stride;
  conv.padding = padding;
  return conv;
}

at::Tensor CausalConv3d::forward(const at::Tensor& x, const at::Tensor& cache) const {
  int64_t front = 2 * padding[0];  // causal: all temporal padding goes in front
  at::Tensor input = x;            // [B, C_in, T, H, W]
  if (cache.defined() && front > 0) {
    input = at::cat({cache.to(x.device()), x}, 2);  // [B, C_in, T_cache + T, H, W]
    front -= cache.size(2);
  }
  if (front > 0) {
    // [B, C_in, front + T, H, W]; zeros as F.pad writes them
    input = at::constant_pad_nd(input, {0, 0, 0, 0, front, 0}, 0.0);
  }
  // Spatial zero padding inside the conv instead of an explicit pad: same values, one copy less.
  return at::conv3d(input, weight, bias, {stride[0], stride[1], stride[2]},
                    {0, padding[1], padding[2]});  // [B, C_out, T', H', W']
}

at::Tensor causal_conv_cached(const CausalConv3d& conv, const at::Tensor& x, FeatureCache* cache) {
  if (cache == nullptr) return conv.forward(x);
  auto& slot = cache->take();
  const int64_t t = x.size(2);
  at::Tensor keep = x.slice(2, std::max<int64_t>(t - 2, 0)).clone();  // [B, C, <=2, H, W]
  const bool has_frames = slot.state == FeatureCache::Slot::State::kFrames;
  if (keep.size(2) < 2 && has_frames) {
    // a one-frame chunk: keep the previous chunk's last frame too
    keep = at::cat({slot.frames.slice(2, -1).to(keep.device()), keep}, 2);  // [B, C, 2, H, W]
  }
  at::Tensor out = conv.forward(x, has_frames ? slot.frames : at::Tensor());
  slot.frames = std::move(keep);
  slot.state = FeatureCache::Slot::State::kFrames;
  return out;
}

at::Tensor python_scalar(double value) {
  at::Tensor t = at::scalar_tensor(value, at::TensorOptions().dtype(at::kDouble));
  t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

Conv2d Conv2d::load(WeightLoader& loader, const std::string& prefix, int64_t in, int64_t out,
                    int64_t kernel, int64_t stride, int64_t padding) {
  Conv2d conv;
  conv.weight = loader.take(prefix + ".weight", {out, in, kernel, kernel});
  conv.bias = loader.take(prefix + ".bias", {out});
  conv.stride = stride;
  conv.padding = padding;
  return conv;
}

at::Tensor Conv2d::forward(const at::Tensor& x) const {
  return at::conv2d(x, weight, bias, {stride, stride}, {padding, padding});  // [N, C_out, H', W']
}

}  // namespace rayvid::models::wan_vae
