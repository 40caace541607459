// Synthetic clips with known answers for the analysis tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "io/image.h"
#include "io/video.h"

namespace rayvid::analysis::test {

// A smooth random texture (sum of random sinusoids): trackable by optical flow, and smooth enough
// that H.264 with yuv420p chroma keeps it above 40 dB.
inline io::Image texture(int width, int height, uint32_t seed, double max_frequency = 0.08) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> freq(0.01, max_frequency), phase(0, 6.283185307);
  struct Wave {
    double fx, fy, ph, amp;
  };
  std::vector<Wave> waves[3];
  for (auto& channel : waves)
    for (int k = 0; k < 6; ++k) channel.push_back({freq(rng), freq(rng), phase(rng), 18.0});
  io::Image img{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) {
        double v = 128;
        for (const auto& w : waves[c]) v += w.amp * std::sin(w.fx * x + w.fy * y + w.ph);
        img.rgb[(static_cast<size_t>(y) * width + x) * 3 + c] =
            static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 255.0)));
      }
  return img;
}

// Frame f is the window of `canvas` at (x0 + k f, y0): content moves left by k px per frame, so the
// flow from frame f to f+1 is (-k, 0) everywhere (except where new content enters).
inline io::VideoFrames translate(const io::Image& canvas, int width, int height, int frames,
                                 int k) {
  io::VideoFrames v{width, height, frames, std::vector<uint8_t>()};
  v.rgb.resize(v.frame_bytes() * frames);
  for (int f = 0; f < frames; ++f)
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        for (int c = 0; c < 3; ++c)
          v.frame(f)[(static_cast<size_t>(y) * width + x) * 3 + c] = canvas.at(y, x + k * f, c);
  return v;
}

inline io::VideoFrames repeat(const io::Image& image, int frames) {
  io::VideoFrames v{image.width, image.height, frames, std::vector<uint8_t>()};
  for (int f = 0; f < frames; ++f) v.rgb.insert(v.rgb.end(), image.rgb.begin(), image.rgb.end());
  return v;
}

}  // namespace rayvid::analysis::test
