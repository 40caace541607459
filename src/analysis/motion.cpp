// DIS optical flow, VBench-style flow statistics and the consistency-masked warping error.
#include "analysis/motion.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include <algorithm>
#include <functional>
#include <vector>

#include "analysis/frame_metrics.h"
#include "analysis/opencv_frames.h"
#include "core/check.h"

namespace rayvid::analysis {
namespace {

cv::Mat luma(FrameView frame) {
  cv::Mat gray;
  cv::cvtColor(as_mat(frame), gray, cv::COLOR_RGB2GRAY);  // [H, W] uint8
  return gray;
}

cv::Mat dense_flow(const cv::Mat& from, const cv::Mat& to) {
  // One DIS object per call: the algorithm keeps state between calls, and a fresh one keeps the
  // metric a pure function of the two frames.
  auto dis = cv::DISOpticalFlow::create(cv::DISOpticalFlow::PRESET_MEDIUM);
  cv::Mat flow;  // [H, W, 2] float32 (dx, dy)
  dis->calc(from, to, flow);
  return flow;
}

void magnitude_stats(const cv::Mat& flow, double* mean, double* top5) {
  std::vector<float> mag;
  mag.reserve(flow.total());
  double sum = 0;
  for (int y = 0; y < flow.rows; ++y) {
    const auto* f = flow.ptr<cv::Vec2f>(y);
    for (int x = 0; x < flow.cols; ++x) {
      const float m = std::hypot(f[x][0], f[x][1]);
      mag.push_back(m);
      sum += m;
    }
  }
  *mean = sum / static_cast<double>(mag.size());
  // VBench: cut_index = int(h * w * 0.05); mean of the cut_index largest magnitudes.
  const size_t cut = std::max<size_t>(1, static_cast<size_t>(mag.size() * 0.05));
  std::nth_element(mag.begin(), mag.begin() + (cut - 1), mag.end(), std::greater<float>());
  double top = 0;
  for (size_t i = 0; i < cut; ++i) top += mag[i];
  *top5 = top / static_cast<double>(cut);
}

void check_pair(FrameView a, FrameView b) {
  RAYVID_CHECK(a.width == b.width && a.height == b.height && a.width >= 8 && a.height >= 8,
               BadInput,
               "optical flow needs two frames of the same size, at least 8x8; got {}x{} "
               "and {}x{}",
               a.width, a.height, b.width, b.height);
}

}  // namespace

double flow_top5(FrameView a, FrameView b) {
  check_pair(a, b);
  double mean = 0, top5 = 0;
  magnitude_stats(dense_flow(luma(a), luma(b)), &mean, &top5);
  return top5;
}

PairMotion measure_motion(FrameView a, FrameView b, bool with_warp) {
  check_pair(a, b);
  PairMotion out;
  out.mean_abs_diff = mean_abs_diff(a, b);
  const cv::Mat ga = luma(a), gb = luma(b);
  const cv::Mat forward = dense_flow(ga, gb);  // [H, W, 2] a -> b
  magnitude_stats(forward, &out.flow_mean, &out.flow_top5);
  if (!with_warp) return out;

  const cv::Mat backward = dense_flow(gb, ga);  // [H, W, 2] b -> a
  cv::Mat map(forward.size(), CV_32FC2);        // [H, W, 2] sampling positions x + w_f(x)
  for (int y = 0; y < map.rows; ++y) {
    const auto* f = forward.ptr<cv::Vec2f>(y);
    auto* m = map.ptr<cv::Vec2f>(y);
    for (int x = 0; x < map.cols; ++x) m[x] = cv::Vec2f(x + f[x][0], y + f[x][1]);
  }
  cv::Mat b_float, b_warped, back_warped;
  as_mat(b).convertTo(b_float, CV_32FC3, 1.0 / 255);  // [H, W, 3] in [0, 1]
  cv::remap(b_float, b_warped, map, cv::noArray(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  cv::remap(backward, back_warped, map, cv::noArray(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);

  const cv::Mat fa = as_mat(a);
  double sum = 0;
  size_t valid = 0;
  for (int y = 0; y < map.rows; ++y) {
    const auto* f = forward.ptr<cv::Vec2f>(y);
    const auto* bw = back_warped.ptr<cv::Vec2f>(y);
    const auto* m = map.ptr<cv::Vec2f>(y);
    const auto* pa = fa.ptr<cv::Vec3b>(y);
    const auto* pb = b_warped.ptr<cv::Vec3f>(y);
    for (int x = 0; x < map.cols; ++x) {
      if (m[x][0] < 0 || m[x][1] < 0 || m[x][0] > map.cols - 1 || m[x][1] > map.rows - 1) continue;
      const double sx = f[x][0] + bw[x][0], sy = f[x][1] + bw[x][1];
      const double nf = f[x][0] * f[x][0] + f[x][1] * f[x][1];
      const double nb = bw[x][0] * bw[x][0] + bw[x][1] * bw[x][1];
      if (sx * sx + sy * sy >= 0.01 * (nf + nb) + 0.5) continue;
      for (int c = 0; c < 3; ++c) {
        const double d = pa[x][c] / 255.0 - pb[x][c];
        sum += d * d;
      }
      ++valid;
    }
  }
  out.valid_fraction = static_cast<double>(valid) / static_cast<double>(map.total());
  out.warp_error = valid > 0 ? sum / (3.0 * static_cast<double>(valid)) : 0;
  return out;
}

}  // namespace rayvid::analysis
