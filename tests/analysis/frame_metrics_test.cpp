// PSNR and SSIM against closed forms that follow from their definitions.
#include "analysis/frame_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "rayvid/error.h"
#include "synthetic_video.h"

namespace rayvid::analysis {
namespace {

TEST(FrameMetrics, PsnrOfAUniformOffset) {
  // Every sample off by d levels: MSE = d^2, PSNR = 10 log10(255^2 / d^2) = 20 log10(255 / d).
  const io::Image a = test::texture(40, 30, 3);
  io::Image b = a;
  for (auto& v : b.rgb) v = static_cast<uint8_t>(std::min(255, v + 5));
  // The texture stays in 128 +- 108, so no sample clips at 255.
  EXPECT_NEAR(psnr(view(a), view(b)), 20 * std::log10(255.0 / 5.0), 1e-9);
  EXPECT_DOUBLE_EQ(psnr(view(a), view(a)), kPsnrCap);
  EXPECT_NEAR(mean_abs_diff(view(a), view(b)), 5.0, 1e-12);
}

TEST(FrameMetrics, SsimOfTwoFlatImages) {
  // Constant images x = p, y = q per channel: local means p, q, variances and covariance 0, so
  // SSIM = (2pq + C1) C2 / ((p^2 + q^2 + C1) C2) = (2pq + C1) / (p^2 + q^2 + C1), C1 =
  // (0.01*255)^2, averaged over the channels. Different values per channel check that the
  // constants reach every channel, not just the first.
  const int w = 24, h = 20;
  const double p[3] = {100, 20, 200}, q[3] = {160, 30, 120}, c1 = (0.01 * 255) * (0.01 * 255);
  std::vector<uint8_t> x(w * h * 3), y(w * h * 3);
  double expected = 0;
  for (int c = 0; c < 3; ++c) {
    for (size_t i = static_cast<size_t>(c); i < x.size(); i += 3) {
      x[i] = static_cast<uint8_t>(p[c]);
      y[i] = static_cast<uint8_t>(q[c]);
    }
    expected += (2 * p[c] * q[c] + c1) / (p[c] * p[c] + q[c] * q[c] + c1) / 3;
  }
  EXPECT_NEAR(ssim(FrameView{w, h, x.data()}, FrameView{w, h, y.data()}), expected, 1e-9);
}

TEST(FrameMetrics, SsimFallsWithNoiseAndSizeMismatchIsAnError) {
  const io::Image a = test::texture(64, 48, 5, 0.3);
  io::Image b = a;
  uint32_t state = 1;
  for (auto& v : b.rgb) {  // +-20 levels of deterministic noise
    state = state * 1664525u + 1013904223u;
    v = static_cast<uint8_t>(std::clamp(int(v) + int(state >> 27) - 16, 0, 255));
  }
  const double s = ssim(view(a), view(b));
  EXPECT_LT(s, 0.95);
  EXPECT_GT(s, 0.2);
  const io::Image small = test::texture(32, 48, 5);
  EXPECT_THROW(ssim(view(a), view(small)), Error);
  EXPECT_THROW(psnr(view(a), view(small)), Error);
}

}  // namespace
}  // namespace rayvid::analysis
