// sRGB -> Lab and CIEDE2000, in double precision (OpenCV's 8-bit Lab is quantised, so it is not
// used here). Formulas follow Sharma et al. 2005, equations (1)-(22).
#include "analysis/color.h"

#include <array>
#include <cmath>

#include "core/check.h"

namespace rayvid::analysis {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double deg(double rad) { return rad * 180.0 / kPi; }
constexpr double rad(double deg) { return deg * kPi / 180.0; }

// sRGB decoding curve, one entry per 8-bit code.
const std::array<double, 256>& linear_table() {
  static const std::array<double, 256> table = [] {
    std::array<double, 256> t{};
    for (int i = 0; i < 256; ++i) {
      const double c = i / 255.0;
      t[i] = c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
    }
    return t;
  }();
  return table;
}

double lab_f(double t) {
  constexpr double kEps = 216.0 / 24389.0, kKappa = 24389.0 / 27.0;
  return t > kEps ? std::cbrt(t) : (kKappa * t + 16.0) / 116.0;
}

}  // namespace

Lab srgb_to_lab(uint8_t r8, uint8_t g8, uint8_t b8) {
  const auto& lin = linear_table();
  const double r = lin[r8], g = lin[g8], b = lin[b8];
  // sRGB primaries, D65 white (IEC 61966-2-1), white point Xn = 0.95047, Zn = 1.08883.
  const double x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  const double y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
  const double z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
  const double fx = lab_f(x), fy = lab_f(y), fz = lab_f(z);
  return {116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)};
}

double delta_e_2000(const Lab& x, const Lab& y) {
  const double c1 = std::hypot(x.a, x.b), c2 = std::hypot(y.a, y.b);
  const double c_bar = 0.5 * (c1 + c2);
  const double c_bar7 = std::pow(c_bar, 7.0);
  const double g = 0.5 * (1.0 - std::sqrt(c_bar7 / (c_bar7 + std::pow(25.0, 7.0))));
  const double a1 = (1.0 + g) * x.a, a2 = (1.0 + g) * y.a;
  const double cp1 = std::hypot(a1, x.b), cp2 = std::hypot(a2, y.b);
  auto hue = [](double b, double a) {
    if (a == 0 && b == 0) return 0.0;
    const double h = deg(std::atan2(b, a));
    return h < 0 ? h + 360.0 : h;
  };
  const double hp1 = hue(x.b, a1), hp2 = hue(y.b, a2);

  const double dL = y.L - x.L, dC = cp2 - cp1;
  double dh = 0;
  if (cp1 * cp2 != 0) {
    dh = hp2 - hp1;
    if (dh > 180) dh -= 360;
    if (dh < -180) dh += 360;
  }
  const double dH = 2.0 * std::sqrt(cp1 * cp2) * std::sin(rad(dh / 2.0));

  const double L_bar = 0.5 * (x.L + y.L), cp_bar = 0.5 * (cp1 + cp2);
  double hp_bar = hp1 + hp2;
  if (cp1 * cp2 != 0) {
    if (std::abs(hp1 - hp2) <= 180) {
      hp_bar = 0.5 * (hp1 + hp2);
    } else {
      hp_bar = hp1 + hp2 < 360 ? 0.5 * (hp1 + hp2 + 360) : 0.5 * (hp1 + hp2 - 360);
    }
  }
  const double t = 1.0 - 0.17 * std::cos(rad(hp_bar - 30)) + 0.24 * std::cos(rad(2 * hp_bar)) +
                   0.32 * std::cos(rad(3 * hp_bar + 6)) - 0.20 * std::cos(rad(4 * hp_bar - 63));
  const double d_theta = 30.0 * std::exp(-std::pow((hp_bar - 275.0) / 25.0, 2.0));
  const double cp_bar7 = std::pow(cp_bar, 7.0);
  const double rc = 2.0 * std::sqrt(cp_bar7 / (cp_bar7 + std::pow(25.0, 7.0)));
  const double l50 = (L_bar - 50.0) * (L_bar - 50.0);
  const double sl = 1.0 + 0.015 * l50 / std::sqrt(20.0 + l50);
  const double sc = 1.0 + 0.045 * cp_bar;
  const double sh = 1.0 + 0.015 * cp_bar * t;
  const double rt = -std::sin(rad(2.0 * d_theta)) * rc;
  const double tl = dL / sl, tc = dC / sc, th = dH / sh;
  return std::sqrt(tl * tl + tc * tc + th * th + rt * tc * th);
}

std::vector<Lab> to_lab(FrameView frame) {
  std::vector<Lab> lab(static_cast<size_t>(frame.width) * frame.height);
  for (size_t i = 0; i < lab.size(); ++i) {
    const uint8_t* p = frame.rgb + 3 * i;
    lab[i] = srgb_to_lab(p[0], p[1], p[2]);
  }
  return lab;
}

double mean_delta_e_2000(const std::vector<Lab>& reference, FrameView frame) {
  const size_t n = static_cast<size_t>(frame.width) * frame.height;
  RAYVID_CHECK(n > 0 && reference.size() == n, BadInput,
               "colour drift needs frames of the same size: the reference has {} pixels, the frame "
               "{}x{}",
               reference.size(), frame.width, frame.height);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = frame.rgb + 3 * i;
    sum += delta_e_2000(reference[i], srgb_to_lab(p[0], p[1], p[2]));
  }
  return sum / static_cast<double>(n);
}

double mean_delta_e_2000(FrameView a, FrameView b) {
  RAYVID_CHECK(a.width == b.width && a.height == b.height, BadInput,
               "colour drift needs frames of the same size, got {}x{} and {}x{}", a.width, a.height,
               b.width, b.height);
  return mean_delta_e_2000(to_lab(a), b);
}

}  // namespace rayvid::analysis
