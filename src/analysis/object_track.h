// Where an object of a given colour is in each frame, and which way it moves: the measurement
// behind the semantic tests ("a red circle moves to the left" -> is there a red object, and does
// it move left?) and behind `rayvid analyze --track COLOUR`.
//
// A pixel belongs to the colour when its hue is within `hue_tolerance` degrees of the target's and
// it is saturated and bright enough to have a hue at all (greys, black and white never match).
// The mask is opened with a 3x3 kernel (drops single-pixel speckle and codec fringes); the object
// is the largest connected component. Its motion is the least-squares slope of the centroid over
// the frames it was found in, times the clip's length: robust to a frame of jitter, and still the
// displacement from first to last frame for steady motion.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "analysis/frame_view.h"

namespace rayvid::analysis {

struct ColourTarget {
  std::string name;    // as given: "red" or "#dc2828"
  double hue_deg = 0;  // [0, 360)
};

// A colour name (red, orange, yellow, green, cyan, blue, purple, magenta) or #RRGGBB. A grey hex
// colour (no hue) or an unknown name is kBadArgument naming what is accepted.
ColourTarget parse_colour(const std::string& text);

struct ObjectTrackOptions {
  double hue_tolerance_deg = 20;
  double min_saturation = 0.35;     // HSV saturation, [0, 1]
  double min_value = 0.25;          // HSV value, [0, 1]
  double min_area_fraction = 1e-3;  // smaller components count as "not found"
  // Below this displacement (a share of the frame's smaller side) the object "stays".
  double still_fraction = 0.05;
};

struct ObjectFrame {
  bool found = false;
  double area_fraction = 0;  // of the frame
  double x = 0, y = 0;       // centroid, pixels
};

struct ObjectTrack {
  ColourTarget colour;
  std::vector<ObjectFrame> frames;
  int found_frames = 0;
  double dx = 0, dy = 0;  // pixels over the clip (image axes: +x right, +y down)
  // "left", "right", "up", "down" (the dominant axis), "stays", or "not found" (fewer than two
  // frames with the object).
  std::string direction = "not found";
  bool found_first = false, found_last = false;
};

// Streaming: frames go in one at a time.
class ObjectTracker {
 public:
  ObjectTracker(ColourTarget colour, const ObjectTrackOptions& options = {});
  void add(FrameView frame);
  ObjectTrack finish() const;

 private:
  ObjectTrack track_;
  ObjectTrackOptions options_;
  int min_side_ = 0;
};

// Every target tracked over one pass through the video file.
std::vector<ObjectTrack> track_colours(const std::filesystem::path& video,
                                       const std::vector<ColourTarget>& colours,
                                       const ObjectTrackOptions& options = {});

}  // namespace rayvid::analysis
