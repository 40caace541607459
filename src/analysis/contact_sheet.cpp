// Contact sheet composition with OpenCV (resize + copy into a canvas).
#include "analysis/contact_sheet.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "analysis/opencv_frames.h"
#include "core/check.h"

namespace rayvid::analysis {
namespace {

void check_options(const ContactSheetOptions& options) {
  RAYVID_CHECK(
      options.columns >= 1 && options.rows >= 1 && options.tile_width >= 8 && options.gap >= 0,
      BadArgument, "contact sheet: columns and rows >= 1, tile width >= 8, gap >= 0");
}

int tile_height(int width, int height, const ContactSheetOptions& options) {
  return std::max(
      1, static_cast<int>(std::lround(static_cast<double>(height) * options.tile_width / width)));
}

// The frame indices shown for a video of `frames` frames: evenly spaced, first and last included.
std::vector<int> picks(int64_t frames, const ContactSheetOptions& options) {
  std::vector<int> out;
  if (frames <= 0) return out;
  const int count = static_cast<int>(std::min<int64_t>(options.columns * options.rows, frames));
  for (int k = 0; k < count; ++k)
    out.push_back(count == 1 ? 0 : static_cast<int>(std::lround(k * (frames - 1.0) / (count - 1))));
  return out;
}

// Lays tiles out row by row on dark grey.
io::Image compose(const std::vector<cv::Mat>& tiles, int tile_w, int tile_h,
                  const ContactSheetOptions& options) {
  const int count = static_cast<int>(tiles.size());
  const int columns = std::min(options.columns, count);
  const int rows = (count + columns - 1) / columns;
  const int gap = options.gap;
  cv::Mat canvas(rows * tile_h + (rows + 1) * gap, columns * tile_w + (columns + 1) * gap, CV_8UC3,
                 cv::Scalar(32, 32, 32));  // [H, W, 3] RGB
  for (int k = 0; k < count; ++k) {
    const int r = k / columns, c = k % columns;
    tiles[k].copyTo(
        canvas(cv::Rect(gap + c * (tile_w + gap), gap + r * (tile_h + gap), tile_w, tile_h)));
  }
  io::Image out;
  out.width = canvas.cols;
  out.height = canvas.rows;
  out.rgb.assign(canvas.data, canvas.data + canvas.total() * 3);
  return out;
}

cv::Mat resize_tile(FrameView frame, int tile_w, int tile_h) {
  cv::Mat tile;  // [tile_h, tile_w, 3]
  cv::resize(as_mat(frame), tile, cv::Size(tile_w, tile_h), 0, 0, cv::INTER_AREA);
  return tile;
}

}  // namespace

io::Image contact_sheet(const io::VideoFrames& video, const ContactSheetOptions& options) {
  RAYVID_CHECK(video.num_frames >= 1 && video.width > 0 && video.height > 0, BadInput,
               "a contact sheet needs at least one frame");
  check_options(options);
  const int tile_h = tile_height(video.width, video.height, options);
  std::vector<cv::Mat> tiles;
  for (const int index : picks(video.num_frames, options))
    tiles.push_back(resize_tile(view(video, index), options.tile_width, tile_h));
  return compose(tiles, options.tile_width, tile_h, options);
}

ContactSheetBuilder::ContactSheetBuilder(int width, int height, int64_t expected_frames,
                                         const ContactSheetOptions& options)
    : width_(width), height_(height), options_(options) {
  RAYVID_CHECK(width > 0 && height > 0, BadInput, "a contact sheet needs at least one frame");
  check_options(options);
  tile_h_ = tile_height(width, height, options);
  planned_ = picks(expected_frames, options);
}

ContactSheetBuilder::Tile ContactSheetBuilder::make_tile(FrameView frame) const {
  const cv::Mat m = resize_tile(frame, options_.tile_width, tile_h_);
  return {m.cols, m.rows, std::vector<uint8_t>(m.data, m.data + m.total() * 3)};
}

void ContactSheetBuilder::add(int index, FrameView frame) {
  RAYVID_CHECK(frame.width == width_ && frame.height == height_, BadInput,
               "contact sheet: frame {} is {}x{}, the video {}x{}", index, frame.width,
               frame.height, width_, height_);
  const bool planned = std::binary_search(planned_.begin(), planned_.end(), index);
  if (!planned && index % stride_ != 0) return;
  kept_[index] = make_tile(frame);
  // Thin the fallback tiles out when there are too many: keep every (2 stride)-th.
  const size_t budget = 2 * static_cast<size_t>(options_.columns * options_.rows);
  while (kept_.size() > planned_.size() + budget) {
    stride_ *= 2;
    for (auto it = kept_.begin(); it != kept_.end();) {
      const bool keep = it->first % stride_ == 0 ||
                        std::binary_search(planned_.begin(), planned_.end(), it->first);
      it = keep ? std::next(it) : kept_.erase(it);
    }
  }
}

io::Image ContactSheetBuilder::finish(int total_frames, FrameView last) {
  RAYVID_CHECK(total_frames >= 1, BadInput, "a contact sheet needs at least one frame");
  kept_[total_frames - 1] = make_tile(last);
  std::vector<cv::Mat> tiles;
  for (const int index : picks(total_frames, options_)) {
    // The exact frame when it was kept (always, when the expected count was right), else the
    // nearest kept one.
    auto it = kept_.lower_bound(index);
    if (it == kept_.end() ||
        (it != kept_.begin() && index - std::prev(it)->first < it->first - index))
      it = std::prev(it);
    Tile& tile = it->second;
    tiles.push_back(cv::Mat(tile.height, tile.width, CV_8UC3, tile.rgb.data()));
  }
  return compose(tiles, options_.tile_width, tile_h_, options_);
}

}  // namespace rayvid::analysis
