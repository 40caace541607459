#include "analysis/keyframe_fidelity.h"

#include <algorithm>

#include "analysis/frame_metrics.h"
#include "core/check.h"
#include "io/video.h"

namespace rayvid::analysis {

std::vector<KeyframeScore> keyframe_fidelity(const std::filesystem::path& video,
                                             const std::map<int, io::Image>& keyframes) {
  io::VideoReader reader(video);
  const int width = reader.info().width, height = reader.info().height;
  std::map<int, io::Image> prepared;
  for (const auto& [index, image] : keyframes) {
    RAYVID_CHECK(index >= 0 || index == kLastFrame, BadArgument,
                 "keyframe index {} is negative; frames count from 0", index);
    prepared[index] = io::resize_cover_crop(image, width, height);
  }
  std::vector<KeyframeScore> scores;
  auto score = [&](int frame, const io::Image& want, const std::vector<uint8_t>& rgb) {
    const FrameView got{width, height, rgb.data()};
    scores.push_back({frame, psnr(got, view(want)), ssim(got, view(want))});
  };
  std::vector<uint8_t> rgb, last;
  int frame = 0;
  while (reader.next(rgb)) {
    if (const auto it = prepared.find(frame); it != prepared.end()) score(frame, it->second, rgb);
    last.swap(rgb);
    ++frame;
  }
  RAYVID_CHECK(frame > 0, BadInput, "{}: no frames to compare", video.string());
  const int highest = prepared.empty() ? -1 : prepared.rbegin()->first;
  RAYVID_CHECK(highest < frame, BadArgument, "keyframe {} is past the end of {} ({} frames, 0..{})",
               highest, video.string(), frame, frame - 1);
  if (const auto it = prepared.find(kLastFrame); it != prepared.end())
    score(frame - 1, it->second, last);
  std::sort(scores.begin(), scores.end(),
            [](const auto& a, const auto& b) { return a.frame < b.frame; });
  return scores;
}

}  // namespace rayvid::analysis
