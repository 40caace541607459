// A borrowed 8-bit RGB frame: what every analysis metric reads. No OpenCV types here, so the engine
// and the CLI can call the metrics without OpenCV headers.
#pragma once

#include <cstdint>

#include "io/image.h"
#include "io/video.h"

namespace rayvid::analysis {

struct FrameView {
  int width = 0;
  int height = 0;
  const uint8_t* rgb = nullptr;  // [height, width, 3] interleaved RGB, row-major, no padding
};

inline FrameView view(const io::Image& image) {
  return {image.width, image.height, image.rgb.data()};
}
inline FrameView view(const io::VideoFrames& video, int frame) {
  return {video.width, video.height, video.frame(frame)};
}

}  // namespace rayvid::analysis
