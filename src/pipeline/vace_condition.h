// Wan2.1 VACE's conditioning (diffusers' WanVACEPipeline.preprocess_conditions,
// prepare_video_latents and prepare_masks): what the user gives (reference images, keyframes,
// a control video) becomes the transformer's control states
//   [1, 96, n_ref + T, h, w] = [inactive latents 16 | reactive latents 16 | 8x8 mask 64]
// and the reference images' latent frames, which the pipeline prepends to the noise and drops
// before decoding.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <optional>
#include <vector>

#include "io/image.h"
#include "io/video.h"
#include "pipeline/components.h"
#include "pipeline/presets.h"

namespace rayvid::pipeline {

struct VaceInputs {
  // Subject/style images, any size: each is fitted inside the frame (bilinear), centred on white,
  // and becomes one latent frame before the video's (the last given comes first, as diffusers).
  std::vector<io::Image> references;
  // Pixel frame -> an image at the video's size: kept (mask 0) where given; the frames between
  // are generated (the docstring's first/last-frame recipe: gray 128 frames, mask 1).
  std::map<int, io::Image> keyframes;
  // A control video at the video's size with at least shape.frames frames: generated from
  // (reactive) wherever no keyframe is given.
  std::optional<io::VideoFrames> control_video;
  double scale = 1.0;  // the hints' weight (diffusers' conditioning_scale)
};

struct VaceCondition {
  at::Tensor control;            // [1, 96, n_ref + T, h, w], fp32 on the device
  int64_t reference_frames = 0;  // n_ref
};

VaceCondition vace_condition(VideoAutoencoder& vae, const VaceInputs& inputs,
                             const VideoShape& shape, c10::Device device);

}  // namespace rayvid::pipeline
