// CLIPImageProcessor (transformers 5.x, PIL backend: the pinned environment has no torchvision,
// so CLIPImageProcessor resolves to CLIPImageProcessorPil) in C++: resize the shortest side with
// PIL's resampling, centre crop, rescale, normalise -> pixel_values.
//
// The resize is a re-implementation of Pillow's Resample.c for 8-bit images (separable
// convolution with PIL's antialiasing filter support, 22-bit fixed-point coefficients,
// horizontal pass then vertical, uint8 intermediate), so pixel_values match the reference
// bit-for-bit on the same decoded RGB image. OpenCV's cv::resize is not used: its bicubic
// (a = -0.75, no antialias) differs from PIL's (a = -0.5, support scaled when shrinking).
#pragma once

#include <ATen/core/Tensor.h>

#include "io/image.h"
#include "models/clip/config.h"

namespace rayvid::models::clip {

// PIL Image.resize(size, resample) of an RGB image.
io::Image pil_resize(const io::Image& image, int width, int height, Resample resample);

// The output size of a shortest-edge resize: (height, width), as transformers computes it.
std::pair<int, int> shortest_edge_size(int height, int width, int64_t shortest_edge);

// pixel_values [1, 3, H, W] float32 (CPU) for one image.
at::Tensor preprocess_image(const io::Image& image, const CLIPImageProcessorConfig& config);

}  // namespace rayvid::models::clip
