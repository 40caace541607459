// 8-bit RGB in, the pipelines' [-1, 1] tensors out (diffusers' VaeImageProcessor / VideoProcessor:
// x / 255 * 2 - 1), on the compute device.
#pragma once

#include <ATen/core/Tensor.h>

#include "io/image.h"
#include "io/video.h"

namespace rayvid::pipeline {

// [1, 3, H, W].
at::Tensor image_to_tensor(const io::Image& image, c10::Device device);
// The first `frames` frames: [1, 3, frames, H, W].
at::Tensor frames_to_tensor(const io::VideoFrames& video, int frames, c10::Device device);

}  // namespace rayvid::pipeline
