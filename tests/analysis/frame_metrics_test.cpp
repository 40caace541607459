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
  // Constant images x = p, y = q: local means p, q, variances and covariance 0, so
  // SSIM = (2pq + C1) C2 / ((p^2 + q^2 + C1) C2) = (2pq + C1) / (p^2 + q^2 + C1), C1 =
  // (0.01*255)^2.
  const int w = 24, h = 20;
  const double p = 100, q = 160, c1 = (0.01 * 255) * (0.01 * 255);
  std::vector<uint8_t> x(w * h * 3, 100), y(w * h * 3, 160);
  EXPECT_NEAR(ssim(FrameView{w, h, x.data()}, FrameView{w, h, y.data()}),
              (2 * p * q + c1) / (p * p + q * q + c1), 1e-9);
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
