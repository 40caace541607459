// Colour difference in CIE Lab: sRGB (D65) -> CIE XYZ -> CIE L*a*b*, and the CIEDE2000 colour
// difference (Sharma, Wu, Dalal 2005, "The CIEDE2000 color-difference formula: implementation
// notes, supplementary test data, and mathematical observations").
#pragma once

#include <vector>

#include "analysis/frame_view.h"

namespace rayvid::analysis {

struct Lab {
  double L = 0, a = 0, b = 0;
};

// 8-bit sRGB (IEC 61966-2-1 transfer curve) to CIE Lab with the D65 white point.
Lab srgb_to_lab(uint8_t r, uint8_t g, uint8_t b);

// CIEDE2000 with kL = kC = kH = 1.
double delta_e_2000(const Lab& x, const Lab& y);

// Every pixel of a frame in Lab, [height * width], row-major: computed once for a reference frame.
std::vector<Lab> to_lab(FrameView frame);

// Mean CIEDE2000 over all pixels of two frames of the same size.
double mean_delta_e_2000(FrameView a, FrameView b);
double mean_delta_e_2000(const std::vector<Lab>& reference, FrameView frame);

}  // namespace rayvid::analysis
