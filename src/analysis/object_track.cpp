#include "analysis/object_track.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <map>

#include "analysis/opencv_frames.h"
#include "core/check.h"
#include "io/video.h"

namespace rayvid::analysis {
namespace {

// Hue angles of the colour names (the hue circle's primaries, secondaries and the common
// in-betweens), in degrees.
const std::map<std::string, double>& named_hues() {
  static const std::map<std::string, double> hues = {
      {"red", 0},    {"orange", 30}, {"yellow", 55},  {"green", 120},
      {"cyan", 180}, {"blue", 225},  {"purple", 275}, {"magenta", 310}};
  return hues;
}

std::string known_names() {
  std::string names;
  for (const auto& [name, hue] : named_hues()) names += (names.empty() ? "" : ", ") + name;
  return names;
}

double circular_distance(double a, double b) {
  const double d = std::fmod(std::abs(a - b), 360.0);
  return std::min(d, 360.0 - d);
}

// Least-squares slope of v over t.
double slope(const std::vector<double>& t, const std::vector<double>& v) {
  const double n = static_cast<double>(t.size());
  double st = 0, sv = 0, stt = 0, stv = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    st += t[i];
    sv += v[i];
    stt += t[i] * t[i];
    stv += t[i] * v[i];
  }
  const double den = n * stt - st * st;
  return den == 0 ? 0 : (n * stv - st * sv) / den;
}

}  // namespace

ColourTarget parse_colour(const std::string& text) {
  if (const auto it = named_hues().find(text); it != named_hues().end()) return {text, it->second};
  const bool hex =
      text.size() == 7 && text[0] == '#' && std::all_of(text.begin() + 1, text.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) != 0;
      });
  RAYVID_CHECK(hex, BadArgument, "colour '{}': give a name ({}) or #RRGGBB", text, known_names());
  const int rgb = std::stoi(text.substr(1), nullptr, 16);
  cv::Mat px(1, 1, CV_32FC3,
             cv::Scalar((rgb >> 16 & 255) / 255.0, (rgb >> 8 & 255) / 255.0, (rgb & 255) / 255.0));
  cv::Mat hsv;
  cv::cvtColor(px, hsv, cv::COLOR_RGB2HSV);  // float: H in degrees, S and V in [0, 1]
  const auto v = hsv.at<cv::Vec3f>(0, 0);
  RAYVID_CHECK(
      v[1] >= ObjectTrackOptions{}.min_saturation && v[2] >= ObjectTrackOptions{}.min_value,
      BadArgument,
      "colour '{}' is too grey or dark to have a hue (saturation {:.2f}, value {:.2f}); "
      "track a saturated colour",
      text, v[1], v[2]);
  return {text, v[0]};
}

ObjectTracker::ObjectTracker(ColourTarget colour, const ObjectTrackOptions& options)
    : options_(options) {
  track_.colour = std::move(colour);
}

void ObjectTracker::add(FrameView frame) {
  cv::Mat rgb;
  as_mat(frame).convertTo(rgb, CV_32FC3, 1.0 / 255);
  cv::Mat hsv;
  cv::cvtColor(rgb, hsv, cv::COLOR_RGB2HSV);
  cv::Mat mask(frame.height, frame.width, CV_8U);
  for (int y = 0; y < frame.height; ++y) {
    const auto* p = hsv.ptr<cv::Vec3f>(y);
    auto* m = mask.ptr<uint8_t>(y);
    for (int x = 0; x < frame.width; ++x)
      m[x] = p[x][1] >= options_.min_saturation && p[x][2] >= options_.min_value &&
                     circular_distance(p[x][0], track_.colour.hue_deg) <= options_.hue_tolerance_deg
                 ? 255
                 : 0;
  }
  cv::morphologyEx(mask, mask, cv::MORPH_OPEN, cv::Mat::ones(3, 3, CV_8U));
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8);
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (best == 0 || stats.at<int>(i, cv::CC_STAT_AREA) > stats.at<int>(best, cv::CC_STAT_AREA))
      best = i;
  ObjectFrame f;
  if (best > 0) {
    f.area_fraction =
        stats.at<int>(best, cv::CC_STAT_AREA) / (static_cast<double>(frame.width) * frame.height);
    f.found = f.area_fraction >= options_.min_area_fraction;
    f.x = centroids.at<double>(best, 0);
    f.y = centroids.at<double>(best, 1);
  }
  min_side_ = std::min(frame.width, frame.height);
  track_.frames.push_back(f);
}

ObjectTrack ObjectTracker::finish() const {
  ObjectTrack out = track_;
  std::vector<double> t, xs, ys;
  for (size_t i = 0; i < out.frames.size(); ++i)
    if (out.frames[i].found) {
      t.push_back(static_cast<double>(i));
      xs.push_back(out.frames[i].x);
      ys.push_back(out.frames[i].y);
    }
  out.found_frames = static_cast<int>(t.size());
  out.found_first = !out.frames.empty() && out.frames.front().found;
  out.found_last = !out.frames.empty() && out.frames.back().found;
  if (t.size() < 2) return out;
  const double span = static_cast<double>(out.frames.size() - 1);
  out.dx = slope(t, xs) * span;
  out.dy = slope(t, ys) * span;
  if (std::max(std::abs(out.dx), std::abs(out.dy)) < options_.still_fraction * min_side_)
    out.direction = "stays";
  else if (std::abs(out.dx) >= std::abs(out.dy))
    out.direction = out.dx < 0 ? "left" : "right";
  else
    out.direction = out.dy < 0 ? "up" : "down";
  return out;
}

std::vector<ObjectTrack> track_colours(const std::filesystem::path& video,
                                       const std::vector<ColourTarget>& colours,
                                       const ObjectTrackOptions& options) {
  io::VideoReader reader(video);
  const int width = reader.info().width, height = reader.info().height;
  std::vector<ObjectTracker> trackers;
  for (const auto& c : colours) trackers.emplace_back(c, options);
  std::vector<uint8_t> rgb;
  int frames = 0;
  while (reader.next(rgb)) {
    for (auto& t : trackers) t.add({width, height, rgb.data()});
    ++frames;
  }
  RAYVID_CHECK(frames > 0, BadInput, "{}: no frames to track", video.string());
  std::vector<ObjectTrack> out;
  for (const auto& t : trackers) out.push_back(t.finish());
  return out;
}

}  // namespace rayvid::analysis
