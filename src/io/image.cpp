// Image decoding and resizing with OpenCV.
#include "io/image.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>

#include "core/check.h"
#include "io/atomic_file.h"

namespace rayvid::io {
namespace fs = std::filesystem;
namespace {

Image from_bgr(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  Image image;
  image.width = rgb.cols;
  image.height = rgb.rows;
  image.rgb.assign(rgb.datastart, rgb.dataend);
  return image;
}

cv::Mat to_bgr(const Image& image) {
  cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.rgb.data()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  return bgr;
}

// 16-bit (or float) to 8-bit with the full range kept.
cv::Mat to_8bit(const cv::Mat& m) {
  if (m.depth() == CV_8U) return m;
  cv::Mat out;
  const double scale = m.depth() == CV_16U ? 1.0 / 257.0 : (m.depth() == CV_32F ? 255.0 : 1.0);
  m.convertTo(out, CV_8U, scale);
  return out;
}

}  // namespace

Image read_image(const fs::path& path) {
  const std::string label = path.string();
  std::error_code ec;
  RAYVID_CHECK(fs::is_regular_file(path, ec), BadInput, "{}: image not found", label);
  const auto bytes = fs::file_size(path, ec);
  RAYVID_CHECK(!ec && bytes > 0, BadInput, "{}: image file is empty", label);
  RAYVID_CHECK(bytes < (1ull << 30), BadInput, "{}: image file is {} bytes; the limit is 1 GiB",
               label, bytes);

  // Two decodes only when needed: IMREAD_UNCHANGED keeps alpha but skips EXIF orientation, and
  // the formats that carry alpha here (PNG, WebP) rarely carry EXIF orientation; JPEG has no
  // alpha, so its orientation is always applied.
  cv::Mat decoded;
  try {
    decoded = cv::imread(label, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    fail(ErrorCategory::kBadInput, "{}: cannot decode image ({})", label, e.what());
  }
  RAYVID_CHECK(!decoded.empty(), BadInput,
               "{}: not a readable image (rayvid reads PNG, JPEG, WebP and BMP)", label);
  RAYVID_CHECK(decoded.cols <= kMaxImageSide && decoded.rows <= kMaxImageSide &&
                   static_cast<int64_t>(decoded.cols) * decoded.rows <= kMaxImagePixels,
               BadInput, "{}: image is {}x{}; rayvid accepts at most {} pixels a side and {} MP",
               label, decoded.cols, decoded.rows, kMaxImageSide, kMaxImagePixels / 1'000'000);

  if (decoded.channels() == 4) {
    cv::Mat bgra = to_8bit(decoded), bgr(bgra.rows, bgra.cols, CV_8UC3);
    for (int y = 0; y < bgra.rows; ++y) {
      const auto* src = bgra.ptr<cv::Vec4b>(y);
      auto* dst = bgr.ptr<cv::Vec3b>(y);
      for (int x = 0; x < bgra.cols; ++x) {
        const int alpha = src[x][3];
        for (int c = 0; c < 3; ++c)  // over white: a*v + (1-a)*255, rounded
          dst[x][c] = static_cast<uint8_t>((src[x][c] * alpha + 255 * (255 - alpha) + 127) / 255);
      }
    }
    return from_bgr(bgr);
  }
  cv::Mat oriented;
  try {
    oriented = cv::imread(label, cv::IMREAD_COLOR | cv::IMREAD_ANYDEPTH);  // applies EXIF
  } catch (const cv::Exception& e) {
    fail(ErrorCategory::kBadInput, "{}: cannot decode image ({})", label, e.what());
  }
  RAYVID_CHECK(!oriented.empty(), BadInput, "{}: not a readable image", label);
  return from_bgr(to_8bit(oriented));
}

Image resize_cover_crop(const Image& image, int width, int height) {
  RAYVID_CHECK(width > 0 && height > 0, BadArgument, "cannot resize to {}x{}", width, height);
  RAYVID_CHECK(image.width > 0 && image.height > 0, BadInput, "cannot resize an empty image");
  if (image.width == width && image.height == height) return image;
  const double scale =
      std::max(static_cast<double>(width) / image.width, static_cast<double>(height) / image.height);
  const int scaled_w = std::max(width, static_cast<int>(std::lround(image.width * scale)));
  const int scaled_h = std::max(height, static_cast<int>(std::lround(image.height * scale)));
  cv::Mat scaled;
  cv::resize(to_bgr(image), scaled, cv::Size(scaled_w, scaled_h), 0, 0,
             scale < 1.0 ? cv::INTER_AREA : cv::INTER_CUBIC);
  const int x0 = (scaled_w - width) / 2, y0 = (scaled_h - height) / 2;
  return from_bgr(scaled(cv::Rect(x0, y0, width, height)).clone());
}

void write_png(const fs::path& path, const Image& image) {
  std::vector<uint8_t> encoded;
  RAYVID_CHECK(cv::imencode(".png", to_bgr(image), encoded), Internal, "PNG encoding failed");
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(encoded.data()),
                                           encoded.size()));
}

}  // namespace rayvid::io
