// CIEDE2000 against the published test data of Sharma, Wu, Dalal (2005), Table 1, and the colour
// drift of a known grey shift computed independently from the CIE definitions.
#include "analysis/color.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace rayvid::analysis {
namespace {

struct SharmaPair {
  Lab x, y;
  double expected;
};

TEST(DeltaE2000, MatchesSharmaTestData) {
  // Pairs 1-8, 13 and 17-20 of Sharma et al.'s Table 1 (expected values to 4 decimals).
  const std::vector<SharmaPair> pairs = {
      {{50.0, 2.6772, -79.7751}, {50.0, 0.0, -82.7485}, 2.0425},
      {{50.0, 3.1571, -77.2803}, {50.0, 0.0, -82.7485}, 2.8615},
      {{50.0, 2.8361, -74.0200}, {50.0, 0.0, -82.7485}, 3.4412},
      {{50.0, -1.3802, -84.2814}, {50.0, 0.0, -82.7485}, 1.0000},
      {{50.0, -1.1848, -84.8006}, {50.0, 0.0, -82.7485}, 1.0000},
      {{50.0, -0.9009, -85.5211}, {50.0, 0.0, -82.7485}, 1.0000},
      {{50.0, 0.0, 0.0}, {50.0, -1.0, 2.0}, 2.3669},
      {{50.0, -1.0, 2.0}, {50.0, 0.0, 0.0}, 2.3669},
      {{50.0, 2.4900, -0.0010}, {50.0, -2.4900, 0.0009}, 7.1792},
      {{50.0, 2.5, 0.0}, {73.0, 25.0, -18.0}, 27.1492},
      {{50.0, 2.5, 0.0}, {61.0, -5.0, 29.0}, 22.8977},
      {{50.0, 2.5, 0.0}, {56.0, -27.0, -3.0}, 31.9030},
      {{50.0, 2.5, 0.0}, {58.0, 24.0, 15.0}, 19.4535},
  };
  for (const auto& p : pairs) {
    EXPECT_NEAR(delta_e_2000(p.x, p.y), p.expected, 1e-4)
        << "Lab (" << p.x.L << ", " << p.x.a << ", " << p.x.b << ") vs (" << p.y.L << ", " << p.y.a
        << ", " << p.y.b << ")";
  }
}

TEST(SrgbToLab, WhiteAndBlackAndGreyAreNeutral) {
  const Lab white = srgb_to_lab(255, 255, 255), black = srgb_to_lab(0, 0, 0);
  EXPECT_NEAR(white.L, 100.0, 1e-3);
  EXPECT_NEAR(white.a, 0.0, 1e-3);
  EXPECT_NEAR(white.b, 0.0, 1e-3);
  EXPECT_NEAR(black.L, 0.0, 1e-9);
  const Lab grey = srgb_to_lab(119, 119, 119);  // sRGB 119 is close to L* = 50
  EXPECT_NEAR(grey.L, 50.0, 0.3);
  EXPECT_NEAR(grey.a, 0.0, 1e-3);
  EXPECT_NEAR(grey.b, 0.0, 1e-3);
}

// Independent of the code under test: for two neutral greys (a = b = 0) CIEDE2000 reduces to
// |dL| / S_L with S_L = 1 + 0.015 (Lbar - 50)^2 / sqrt(20 + (Lbar - 50)^2), and L* of a grey
// depends only on its relative luminance Y = sRGB decoding of the code value.
double grey_lightness(int code) {
  const double c = code / 255.0;
  const double y = c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
  const double f = y > 216.0 / 24389.0 ? std::cbrt(y) : (24389.0 / 27.0 * y + 16) / 116;
  return 116 * f - 16;
}

TEST(ColourDrift, GreyShiftGivesTheClosedFormDeltaE) {
  const int w = 32, h = 24;
  std::vector<uint8_t> a(w * h * 3, 100), b(w * h * 3, 130);
  const double l1 = grey_lightness(100), l2 = grey_lightness(130);
  const double lbar = 0.5 * (l1 + l2), d50 = (lbar - 50) * (lbar - 50);
  const double expected = std::abs(l2 - l1) / (1 + 0.015 * d50 / std::sqrt(20 + d50));
  const double got = mean_delta_e_2000(FrameView{w, h, a.data()}, FrameView{w, h, b.data()});
  EXPECT_NEAR(got, expected, 1e-6);
  EXPECT_GT(got, 5.0);  // a visible shift, not a rounding artefact
}

TEST(ColourDrift, HalfTheFrameShiftedHalvesTheMean) {
  const int w = 16, h = 16;
  std::vector<uint8_t> a(w * h * 3, 100), b = a;
  for (int i = 0; i < w * h / 2; ++i) b[3 * i] = 160;  // top half gets more red
  const double full = delta_e_2000(srgb_to_lab(100, 100, 100), srgb_to_lab(160, 100, 100));
  EXPECT_NEAR(mean_delta_e_2000(FrameView{w, h, a.data()}, FrameView{w, h, b.data()}), full / 2,
              1e-9);
}

}  // namespace
}  // namespace rayvid::analysis
