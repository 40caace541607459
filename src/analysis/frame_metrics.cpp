// PSNR, SSIM and mean absolute difference on 8-bit RGB frames, with OpenCV for the filtering.
#include "analysis/frame_metrics.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "analysis/opencv_frames.h"
#include "core/check.h"

namespace rayvid::analysis {
namespace {

void check_same_size(FrameView a, FrameView b, const char* metric) {
  RAYVID_CHECK(a.width == b.width && a.height == b.height && a.width > 0 && a.height > 0, BadInput,
               "{} needs two non-empty frames of the same size, got {}x{} and {}x{}", metric,
               a.width, a.height, b.width, b.height);
}

}  // namespace

double psnr(FrameView a, FrameView b) {
  check_same_size(a, b, "PSNR");
  const size_t n = static_cast<size_t>(a.width) * a.height * 3;
  double sse = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(a.rgb[i]) - static_cast<double>(b.rgb[i]);
    sse += d * d;
  }
  if (sse == 0) return kPsnrCap;
  return std::min(kPsnrCap, 10.0 * std::log10(255.0 * 255.0 * static_cast<double>(n) / sse));
}

double ssim(FrameView a, FrameView b) {
  check_same_size(a, b, "SSIM");
  constexpr double kC1 = (0.01 * 255) * (0.01 * 255), kC2 = (0.03 * 255) * (0.03 * 255);
  // In bands of kBand rows: the dozen float64 maps below exist for one band at a time (on a whole
  // 4096x4096 frame they took ~5 GB). A band is computed with kRadius extra rows on each side
  // where the frame has them, so each kept row sees the same neighbourhood, and the same border
  // reflection at the frame's top and bottom, as on the whole frame: the map is the same; only
  // the order in which the mean adds it up differs.
  constexpr int kRadius = 5, kBand = 256;  // the 11x11 window's radius
  const cv::Mat all_x = as_mat(a), all_y = as_mat(b);
  const cv::Size window(11, 11);
  auto blur = [&](const cv::Mat& m) {
    cv::Mat out;
    cv::GaussianBlur(m, out, window, 1.5, 1.5, cv::BORDER_REFLECT);
    return out;
  };
  // Scalar::all: a bare double added to a 3-channel Mat is Scalar(c, 0, 0, 0) in OpenCV's
  // expression algebra (opencv#16739), which today happens to reach every channel with a warning.
  const cv::Scalar c1 = cv::Scalar::all(kC1), c2 = cv::Scalar::all(kC2);
  cv::Scalar sum = cv::Scalar::all(0);
  for (int r0 = 0; r0 < a.height; r0 += kBand) {
    const int r1 = std::min(a.height, r0 + kBand);
    const int s0 = std::max(0, r0 - kRadius), s1 = std::min(a.height, r1 + kRadius);
    cv::Mat x, y;
    all_x.rowRange(s0, s1).convertTo(x, CV_64FC3);  // [s1 - s0, W, 3] float64
    all_y.rowRange(s0, s1).convertTo(y, CV_64FC3);
    const cv::Mat mu_x = blur(x), mu_y = blur(y);  // local means
    const cv::Mat mu_xx = mu_x.mul(mu_x), mu_yy = mu_y.mul(mu_y), mu_xy = mu_x.mul(mu_y);
    const cv::Mat var_x = blur(x.mul(x)) - mu_xx;  // local variances
    const cv::Mat var_y = blur(y.mul(y)) - mu_yy;
    const cv::Mat cov_xy = blur(x.mul(y)) - mu_xy;  // local covariance
    cv::Mat num = (2 * mu_xy + c1).mul(2 * cov_xy + c2);
    cv::Mat den = (mu_xx + mu_yy + c1).mul(var_x + var_y + c2);
    cv::Mat map;
    cv::divide(num, den, map);  // [s1 - s0, W, 3] SSIM map
    sum += cv::sum(map.rowRange(r0 - s0, r1 - s0));
  }
  const double n = static_cast<double>(a.width) * a.height;
  return (sum[0] / n + sum[1] / n + sum[2] / n) / 3.0;
}

double mean_abs_diff(FrameView a, FrameView b) {
  check_same_size(a, b, "frame difference");
  const size_t n = static_cast<size_t>(a.width) * a.height * 3;
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i)
    sum += a.rgb[i] > b.rgb[i] ? a.rgb[i] - b.rgb[i] : b.rgb[i] - a.rgb[i];
  return static_cast<double>(sum) / static_cast<double>(n);
}

}  // namespace rayvid::analysis
