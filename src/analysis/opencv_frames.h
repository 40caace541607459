// Private to src/analysis: FrameView <-> cv::Mat without copies.
#pragma once

#include <opencv2/core.hpp>

#include "analysis/frame_view.h"

namespace rayvid::analysis {

// A read-only CV_8UC3 header over the frame's RGB bytes (channel order stays RGB).
inline cv::Mat as_mat(FrameView frame) {
  return cv::Mat(frame.height, frame.width, CV_8UC3, const_cast<uint8_t*>(frame.rgb));
}

}  // namespace rayvid::analysis
