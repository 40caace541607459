// PSNR and SSIM against closed forms that follow from their definitions.
#include "analysis/frame_metrics.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

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

// SSIM on the whole frame at once, as frame_metrics.cpp computed it before it went band by band.
double whole_frame_ssim(const io::Image& a, const io::Image& b) {
  const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
  cv::Mat x, y;
  cv::Mat(a.height, a.width, CV_8UC3, const_cast<uint8_t*>(a.rgb.data())).convertTo(x, CV_64FC3);
  cv::Mat(b.height, b.width, CV_8UC3, const_cast<uint8_t*>(b.rgb.data())).convertTo(y, CV_64FC3);
  auto blur = [](const cv::Mat& m) {
    cv::Mat out;
    cv::GaussianBlur(m, out, cv::Size(11, 11), 1.5, 1.5, cv::BORDER_REFLECT);
    return out;
  };
  const cv::Mat mu_x = blur(x), mu_y = blur(y);
  const cv::Mat mu_xx = mu_x.mul(mu_x), mu_yy = mu_y.mul(mu_y), mu_xy = mu_x.mul(mu_y);
  const cv::Mat var_x = blur(x.mul(x)) - mu_xx, var_y = blur(y.mul(y)) - mu_yy;
  const cv::Mat cov_xy = blur(x.mul(y)) - mu_xy;
  cv::Mat num = (2 * mu_xy + cv::Scalar::all(c1)).mul(2 * cov_xy + cv::Scalar::all(c2));
  cv::Mat den = (mu_xx + mu_yy + cv::Scalar::all(c1)).mul(var_x + var_y + cv::Scalar::all(c2));
  cv::Mat map;
  cv::divide(num, den, map);
  const cv::Scalar m = cv::mean(map);
  return (m[0] + m[1] + m[2]) / 3.0;
}

TEST(FrameMetrics, SsimInBandsEqualsTheWholeFrame) {
  // Heights around the 256-row band: one band, a band and a few rows, several bands.
  for (const int h : {9, 255, 256, 261, 700}) {
    const io::Image a = test::texture(40, h, 6, 0.3), b = test::texture(40, h, 7, 0.3);
    EXPECT_NEAR(ssim(view(a), view(b)), whole_frame_ssim(a, b), 1e-13) << h;
  }
}

}  // namespace
}  // namespace rayvid::analysis
