// How closely a video keeps the frames it was asked to keep: first/last-frame and keyframe
// adherence (FLF2V, VACE keyframes) as PSNR and SSIM of the given image against the video's frame
// at that index. The image is resized to cover the video and centre-cropped, as `--source` is.
#pragma once

#include <filesystem>
#include <map>
#include <vector>

#include "io/image.h"

namespace rayvid::analysis {

inline constexpr int kLastFrame = -1;  // the index that means "the video's last frame"

struct KeyframeScore {
  int frame = 0;  // resolved: kLastFrame becomes the last frame's index
  double psnr = 0, ssim = 0;
};

// Streams the video once; keyframes maps a frame index (or kLastFrame) to its image. An index
// past the video's end is kBadArgument naming the video's length.
std::vector<KeyframeScore> keyframe_fidelity(const std::filesystem::path& video,
                                             const std::map<int, io::Image>& keyframes);

}  // namespace rayvid::analysis
