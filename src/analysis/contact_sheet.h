// A contact sheet: evenly spaced frames of a video in a grid, as one image (for a quick look).
#pragma once

#include "io/image.h"
#include "io/video.h"

namespace rayvid::analysis {

struct ContactSheetOptions {
  int columns = 4;
  int rows = 2;
  int tile_width = 320;  // each frame is scaled to this width, aspect kept
  int gap = 4;           // pixels of dark grey between tiles
};

// Picks columns * rows frames at evenly spaced indices (first and last included; fewer when the
// video is shorter) and lays them out row by row.
io::Image contact_sheet(const io::VideoFrames& video, const ContactSheetOptions& options = {});

}  // namespace rayvid::analysis
