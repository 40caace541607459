// Full-reference image quality between two frames of the same size: PSNR and SSIM.
#pragma once

#include "analysis/frame_view.h"

namespace rayvid::analysis {

// PSNR = 10 log10(255^2 / MSE), MSE over all pixels and the three RGB channels. Identical frames
// (MSE = 0) report kPsnrCap so that JSON stays finite.
inline constexpr double kPsnrCap = 100.0;
double psnr(FrameView a, FrameView b);

// SSIM (Wang, Bovik, Sheikh, Simoncelli 2004): 11x11 Gaussian window with sigma 1.5,
// K1 = 0.01, K2 = 0.03, L = 255, computed per RGB channel and averaged over channels and pixels
// (the mean SSIM index of the paper; borders are reflected rather than cropped).
double ssim(FrameView a, FrameView b);

// Mean absolute difference over all pixels and channels, in 8-bit levels (0..255).
double mean_abs_diff(FrameView a, FrameView b);

}  // namespace rayvid::analysis
