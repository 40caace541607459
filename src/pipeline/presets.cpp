// The preset tables.
#include "pipeline/presets.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/check.h"

namespace rayvid::pipeline {
namespace {

struct Aspect {
  const char* name;
  int w, h;
};
constexpr Aspect kAspects[] = {{"16:9", 16, 9}, {"9:16", 9, 16}, {"1:1", 1, 1},
                               {"4:3", 4, 3},   {"3:4", 3, 4},   {"21:9", 21, 9}};

struct Resolution {
  const char* name;
  int short_side;
};
constexpr Resolution kResolutions[] = {{"540p", 540}, {"720p", 720}, {"1080p", 1080}};

struct Duration {
  const char* name;
  int seconds;
};
constexpr Duration kDurations[] = {{"5s", 5}, {"10s", 10}};

// Nearest multiple of m, ties down: 720/32 = 22.5 -> 22*32 = 704.
int snap(double value, int m) {
  const double units = value / m;
  const int below = static_cast<int>(units);
  return (units - below > 0.5 ? below + 1 : below) * m;
}

}  // namespace

PresetFamily preset_family_wan21() { return {"wan2.1", 16, 16, 4}; }
PresetFamily preset_family_ti2v() { return {"wan2.2-ti2v", 32, 24, 4}; }

std::vector<std::string> size_presets() {
  std::vector<std::string> v;
  for (const auto& a : kAspects) v.push_back(a.name);
  return v;
}
std::vector<std::string> resolution_presets() {
  std::vector<std::string> v;
  for (const auto& r : kResolutions) v.push_back(r.name);
  return v;
}
std::vector<std::string> duration_presets() {
  std::vector<std::string> v;
  for (const auto& d : kDurations) v.push_back(d.name);
  return v;
}

VideoShape resolve_preset(const PresetFamily& family, const std::string& size,
                          const std::string& resolution, const std::string& duration) {
  const Aspect* aspect = nullptr;
  for (const auto& a : kAspects)
    if (size == a.name) aspect = &a;
  RAYVID_CHECK(aspect != nullptr, BadArgument, "--size '{}' is not a preset; choose one of {}",
               size, fmt::join(size_presets(), ", "));
  const Resolution* res = nullptr;
  for (const auto& r : kResolutions)
    if (resolution == r.name) res = &r;
  RAYVID_CHECK(res != nullptr, BadArgument, "--resolution '{}' is not a preset; choose one of {}",
               resolution, fmt::join(resolution_presets(), ", "));
  const Duration* dur = nullptr;
  for (const auto& d : kDurations)
    if (duration == d.name) dur = &d;
  RAYVID_CHECK(dur != nullptr, BadArgument, "--duration '{}' is not a preset; choose one of {}",
               duration, fmt::join(duration_presets(), ", "));

  // The short side is the resolution; the long side follows the aspect ratio.
  const int short_units = std::min(aspect->w, aspect->h),
            long_units = std::max(aspect->w, aspect->h);
  const double short_side = res->short_side;
  const double long_side = short_side * long_units / short_units;
  VideoShape shape;
  const bool landscape = aspect->w >= aspect->h;
  shape.width = snap(landscape ? long_side : short_side, family.spatial_multiple);
  shape.height = snap(landscape ? short_side : long_side, family.spatial_multiple);
  shape.fps = family.fps;
  shape.frames = family.fps * dur->seconds + 1;
  return shape;
}

void validate_shape(const PresetFamily& family, const VideoShape& s) {
  const int m = family.spatial_multiple;
  RAYVID_CHECK(s.width > 0 && s.height > 0, BadArgument, "size {}x{} must be positive", s.width,
               s.height);
  // The cap first, so the suggestions below are always sizes that would be accepted.
  constexpr int kMaxSide = 4096;
  RAYVID_CHECK(s.width <= kMaxSide && s.height <= kMaxSide, BadArgument,
               "size {}x{} exceeds {} pixels a side; try {}x{} or a --resolution preset", s.width,
               s.height, kMaxSide, std::min(s.width, kMaxSide / m * m),
               std::min(s.height, kMaxSide / m * m));
  RAYVID_CHECK(s.width % m == 0 && s.height % m == 0, BadArgument,
               "size {}x{} is not a multiple of {} ({} models need it for the VAE and patches); "
               "try {}x{}",
               s.width, s.height, m, family.name, std::max(m, s.width / m * m),
               std::max(m, s.height / m * m));
  RAYVID_CHECK(s.frames >= 1 && s.frames <= 1001, BadArgument,
               "--frames {} must be within 1..1001 (and 4n+1)", s.frames);
  RAYVID_CHECK((s.frames - 1) % family.temporal_stride == 0, BadArgument,
               "--frames {} must be 4n+1 (1, 5, 9, ..., 81, 121) for the causal VAE; try {}",
               s.frames, (s.frames - 1) / family.temporal_stride * family.temporal_stride + 1);
  RAYVID_CHECK(s.fps >= 1 && s.fps <= 120, BadArgument, "--fps {} must be within 1..120", s.fps);
}

}  // namespace rayvid::pipeline
