#include "pipeline/pixels.h"

#include <ATen/ATen.h>

#include "core/check.h"

namespace rayvid::pipeline {

at::Tensor image_to_tensor(const io::Image& image, c10::Device device) {
  const at::Tensor rgb =
      at::from_blob(const_cast<uint8_t*>(image.rgb.data()), {image.height, image.width, 3},
                    at::kByte);  // [H, W, 3], CPU
  return rgb.to(device).permute({2, 0, 1}).unsqueeze(0).to(at::kFloat).div(127.5).sub(1.0);
}

at::Tensor frames_to_tensor(const io::VideoFrames& video, int frames, c10::Device device) {
  RAYVID_CHECK(frames >= 1 && frames <= video.num_frames, Internal,
               "frames_to_tensor: {} of {} frames", frames, video.num_frames);
  const at::Tensor rgb =
      at::from_blob(const_cast<uint8_t*>(video.rgb.data()), {frames, video.height, video.width, 3},
                    at::kByte);  // [F, H, W, 3], CPU
  return rgb.to(device).permute({3, 0, 1, 2}).unsqueeze(0).to(at::kFloat).div(127.5).sub(1.0);
}

}  // namespace rayvid::pipeline
