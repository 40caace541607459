// Contact sheet composition with OpenCV (resize + copy into a canvas).
#include "analysis/contact_sheet.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "analysis/frame_view.h"
#include "analysis/opencv_frames.h"
#include "core/check.h"

namespace rayvid::analysis {

io::Image contact_sheet(const io::VideoFrames& video, const ContactSheetOptions& options) {
  RAYVID_CHECK(video.num_frames >= 1 && video.width > 0 && video.height > 0, BadInput,
               "a contact sheet needs at least one frame");
  RAYVID_CHECK(
      options.columns >= 1 && options.rows >= 1 && options.tile_width >= 8 && options.gap >= 0,
      BadArgument, "contact sheet: columns and rows >= 1, tile width >= 8, gap >= 0");
  const int wanted = options.columns * options.rows;
  const int count = std::min(wanted, video.num_frames);
  const int columns = std::min(options.columns, count);
  const int rows = (count + columns - 1) / columns;
  const int tile_w = options.tile_width;
  const int tile_h = std::max(
      1, static_cast<int>(std::lround(static_cast<double>(video.height) * tile_w / video.width)));
  const int gap = options.gap;
  cv::Mat canvas(rows * tile_h + (rows + 1) * gap, columns * tile_w + (columns + 1) * gap, CV_8UC3,
                 cv::Scalar(32, 32, 32));  // [H, W, 3] RGB
  for (int k = 0; k < count; ++k) {
    const int index =
        count == 1 ? 0 : static_cast<int>(std::lround(k * (video.num_frames - 1.0) / (count - 1)));
    cv::Mat tile;  // [tile_h, tile_w, 3]
    cv::resize(as_mat(view(video, index)), tile, cv::Size(tile_w, tile_h), 0, 0, cv::INTER_AREA);
    const int r = k / columns, c = k % columns;
    tile.copyTo(
        canvas(cv::Rect(gap + c * (tile_w + gap), gap + r * (tile_h + gap), tile_w, tile_h)));
  }
  io::Image out;
  out.width = canvas.cols;
  out.height = canvas.rows;
  out.rgb.assign(canvas.data, canvas.data + canvas.total() * 3);
  return out;
}

}  // namespace rayvid::analysis
