// The causal 3D convolution of the Wan VAEs and the per-call feature cache that makes chunked
// (frame-group by frame-group) encode/decode equal to a whole-video pass.
//
// Time is padded on the front only (2 * p_t frames), space symmetrically. When a chunk follows
// another, the last input frames of the previous chunk (kept in the cache) replace the zero
// frames. The cache is a list of slots taken in module order by a running index, exactly as
// diffusers' feat_cache/feat_idx lists are.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "models/weights.h"

namespace rayvid::models::wan_vae {

// One diffusers `feat_cache` list. A slot is empty (None), the "Rep" marker of a temporal
// upsampler that has seen its first chunk, or the frames kept from the previous chunk.
class FeatureCache {
 public:
  struct Slot {
    enum class State { kEmpty, kRep, kFrames };
    State state = State::kEmpty;
    at::Tensor frames;  // [B, C, 1..2, H, W] when state == kFrames
  };
  // Start a chunk: the next take() returns the first slot again.
  void begin_chunk() { next_ = 0; }
  // Forget everything (a new video or a new tile).
  void clear() {
    slots_.clear();
    next_ = 0;
  }
  Slot& take();
  size_t num_slots() const { return slots_.size(); }
  size_t bytes() const;  // memory held by cached frames

 private:
  std::vector<Slot> slots_;
  size_t next_ = 0;
};

// nn.Conv3d with causal temporal padding (diffusers WanCausalConv3d).
struct CausalConv3d {
  at::Tensor weight;  // [C_out, C_in, kT, kH, kW]
  at::Tensor bias;    // [C_out]
  std::array<int64_t, 3> stride{1, 1, 1};
  std::array<int64_t, 3> padding{0, 0, 0};  // (t, h, w) as given to the constructor

  static CausalConv3d load(WeightLoader& loader, const std::string& prefix, int64_t in, int64_t out,
                           std::array<int64_t, 3> kernel, std::array<int64_t, 3> stride = {1, 1, 1},
                           std::array<int64_t, 3> padding = {0, 0, 0});
  // `cache`: frames to put in front instead of zeros (undefined: zeros).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cache = {}) const;
};

// The cached call every 3x3x3 conv of the VAE makes: take a slot, keep the last 2 input frames
// (with one from the slot if this chunk has only one), run the conv on cached + new frames.
// `cache` null: the whole clip in one call (zero padding).
at::Tensor causal_conv_cached(const CausalConv3d& conv, const at::Tensor& x, FeatureCache* cache);

// A Python float as PyTorch passes it to an op (a 0-dim double "wrapped number"): for bf16/fp16
// tensors the kernels then multiply in fp32 with the unrounded value, where the C++ Scalar
// overloads (Tensor::mul_(double)) would first round the value to the tensor's dtype.
at::Tensor python_scalar(double value);

// nn.Conv2d applied frame by frame (the resamplers and the attention projections).
struct Conv2d {
  at::Tensor weight;  // [C_out, C_in, kH, kW]
  at::Tensor bias;    // [C_out]
  int64_t stride = 1;
  int64_t padding = 0;

  static Conv2d load(WeightLoader& loader, const std::string& prefix, int64_t in, int64_t out,
                     int64_t kernel, int64_t stride = 1, int64_t padding = 0);
  at::Tensor forward(const at::Tensor& x) const;  // [N, C_in, H, W] -> [N, C_out, H', W']
};

}  // namespace rayvid::models::wan_vae
