// A contact sheet: evenly spaced frames of a video in a grid, as one image (for a quick look).
#pragma once

#include <map>

#include "analysis/frame_view.h"
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

// The same from frames streamed in order, keeping only tiles (never whole frames). The picks are
// made from `expected_frames` (the container's count); when the stream ends with another count
// (or none was known), each pick takes the nearest kept tile: besides the planned picks, a tile
// of every 2^k-th frame is kept, k growing so that at most 2 * columns * rows of them are held.
class ContactSheetBuilder {
 public:
  ContactSheetBuilder(int width, int height, int64_t expected_frames,
                      const ContactSheetOptions& options = {});
  void add(int index, FrameView frame);
  // `last` is the final frame (index total_frames - 1), which the sheet always ends with.
  io::Image finish(int total_frames, FrameView last);

 private:
  struct Tile {
    int width = 0, height = 0;
    std::vector<uint8_t> rgb;  // [height, width, 3]
  };
  Tile make_tile(FrameView frame) const;

  int width_, height_;
  ContactSheetOptions options_;
  int tile_h_;
  std::vector<int> planned_;  // indices picked from expected_frames
  std::map<int, Tile> kept_;  // planned picks and every stride_-th frame
  int stride_ = 1;
};

}  // namespace rayvid::analysis
