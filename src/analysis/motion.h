// Motion between two frames from dense optical flow (DIS, Kroeger et al. 2016, "Fast Optical Flow
// using Dense Inverse Search", as cv::DISOpticalFlow with the MEDIUM preset on luma).
#pragma once

#include "analysis/frame_view.h"

namespace rayvid::analysis {

struct PairMotion {
  double flow_mean = 0;   // mean flow magnitude over all pixels, in pixels (forward flow a -> b)
  double flow_top5 = 0;   // mean of the largest 5% of magnitudes (VBench's get_score statistic)
  double warp_error = 0;  // mean squared RGB error in [0, 1] units between a and b warped to a,
                          // over pixels that pass the forward/backward consistency check
  double valid_fraction = 0;  // share of pixels that passed the check (and stay inside the frame)
  double mean_abs_diff = 0;   // plain frame difference, 8-bit levels
};

// Forward flow a -> b and backward flow b -> a. A pixel x is consistent (Sundaram, Brox, Keutzer
// 2010) when |w_f(x) + w_b(x + w_f(x))|^2 < 0.01 (|w_f(x)|^2 + |w_b(x + w_f(x))|^2) + 0.5 and
// x + w_f(x) lies inside the frame; the warping error (Lai et al. 2018, "Learning Blind Video
// Temporal Consistency") averages (a(x) - b(x + w_f(x)))^2 over consistent pixels and channels.
// With with_warp = false only the forward flow and its statistics are computed.
PairMotion measure_motion(FrameView a, FrameView b, bool with_warp = true);

// VBench's statistic alone: mean of the top 5% flow magnitudes from a to b.
double flow_top5(FrameView a, FrameView b);

}  // namespace rayvid::analysis
