// Image decoding and resizing with OpenCV.
#include "io/image.h"

#include <unistd.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string_view>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/image_header.h"
#include "io/regular_file.h"

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

// libpng and libjpeg print their warnings and errors straight to stderr ("libpng error: Read
// Error", "Corrupt JPEG data: premature end of data segment"), and so does OpenCV's imdecode when
// a decoder throws; OpenCV 4.6 installs the libraries' default message handlers and offers no hook
// to replace them. The README promises one line on stderr per error, so fd 2 is pointed at an
// unlinked temporary file around each decode and what lands there is folded into rayvid's own
// message instead. fd 2 belongs to the whole process: the mutex serialises decodes, and output of
// other threads during a decode (milliseconds; rayvid decodes its images before generation
// starts, when nothing else writes to stderr) would land in the capture and be dropped. Decoding
// with our own libpng/libjpeg handlers instead would mean replacing OpenCV's codecs.
class StderrCapture {
 public:
  StderrCapture() : lock_(mutex()) {
    std::fflush(stderr);
    std::cerr.flush();
    file_ = std::tmpfile();
    if (file_ == nullptr) return;  // no temporary file: decode without capturing
    saved_ = ::dup(STDERR_FILENO);
    if (saved_ >= 0 && ::dup2(::fileno(file_), STDERR_FILENO) < 0) {
      ::close(saved_);
      saved_ = -1;
    }
  }
  ~StderrCapture() {
    restore();
    if (file_ != nullptr) std::fclose(file_);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  // Restores fd 2 and returns what was written to it meanwhile (its first 4 KiB).
  std::string finish() {
    restore();
    std::string text;
    if (file_ == nullptr) return text;
    std::rewind(file_);
    char buffer[4096];
    text.assign(buffer, std::fread(buffer, 1, sizeof(buffer), file_));
    std::fclose(file_);
    file_ = nullptr;
    return text;
  }

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    std::cerr.flush();
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    saved_ = -1;
  }

  std::lock_guard<std::mutex> lock_;
  std::FILE* file_ = nullptr;
  int saved_ = -1;
};

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (!line.empty()) lines.push_back(line);
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return lines;
}

// What the codec said, for an error message: its first line, shortened.
std::string first_line(std::string_view text) {
  const auto lines = lines_of(text);
  return lines.empty() ? "" : std::string(lines.front().substr(0, 200));
}

// libjpeg decodes a damaged file "successfully", with garbage or grey where the data is bad, and
// only warns. Those warnings mean the picture is not what the file was meant to hold, so they
// refuse the image. The exception is "N extraneous bytes before marker 0xd9": padding just before
// the end-of-image marker that some encoders write, skipped without loss.
std::string jpeg_damage(std::string_view captured) {
  for (const std::string_view line : lines_of(captured)) {
    const bool damage = line.starts_with("Premature end of JPEG file") ||
                        (line.starts_with("Corrupt JPEG data") &&
                         !line.ends_with("extraneous bytes before marker 0xd9"));
    if (damage) return std::string(line.substr(0, 200));
  }
  return "";
}

struct Decoded {
  cv::Mat mat;
  std::string messages;  // what the codec printed
};

// cv::imdecode on the bytes already read, rather than cv::imread on the path: the header that was
// checked and the data that is decoded are the same bytes, and the file is read once.
Decoded decode(const std::string& bytes, int flags, const std::string& label) {
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                       const_cast<char*>(bytes.data()));  // a view: imdecode only reads it
  Decoded out;
  StderrCapture capture;
  try {
    out.mat = cv::imdecode(buffer, flags);
  } catch (const cv::Exception& e) {
    const std::string messages = capture.finish();
    fail(ErrorCategory::kBadInput, "{}: cannot decode image ({})", label,
         messages.empty() ? e.err : first_line(messages));
  }
  out.messages = capture.finish();
  return out;
}

}  // namespace

Image read_image(const fs::path& path) {
  const std::string label = path.string();
  require_regular_file(path, "image");
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  RAYVID_CHECK(!ec && size > 0, BadInput, "{}: image file is empty", label);
  RAYVID_CHECK(size < (1ull << 30), BadInput, "{}: image file is {} bytes; the limit is 1 GiB",
               label, size);
  const std::string bytes = read_regular_file(path, "image");
  RAYVID_CHECK(!bytes.empty(), BadInput, "{}: image file is empty", label);

  // The size from the header, before anything is allocated for the pixels (see image_header.h).
  const ImageHeader header =
      read_image_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  RAYVID_CHECK(header.format != ImageFormat::kUnknown, BadInput,
               "{}: not a readable image: unsupported format (rayvid reads PNG, JPEG, WebP and "
               "BMP); convert it to PNG",
               label);
  RAYVID_CHECK(header.width > 0 && header.height > 0, BadInput,
               "{}: not a readable image: its {} header is damaged (no image size); re-export it",
               label, format_name(header.format));
  RAYVID_CHECK(header.width <= kMaxImageSide && header.height <= kMaxImageSide &&
                   header.width * header.height <= kMaxImagePixels,
               BadInput,
               "{}: image is {}x{}; rayvid accepts at most {} pixels a side and {} MP; scale it "
               "down first (the video is at most 4096 pixels a side)",
               label, header.width, header.height, kMaxImageSide, kMaxImagePixels / 1'000'000);

  RAYVID_CHECK(header.complete, BadInput,
               "{}: not a readable image: the {} data is truncated (no end-of-image marker); "
               "re-export or re-download it",
               label, format_name(header.format));

  auto check_decoded = [&](const Decoded& d) {
    RAYVID_CHECK(!d.mat.empty(), BadInput, "{}: not a readable image: {}", label,
                 d.messages.empty()
                     ? fmt::format("its {} data is damaged", format_name(header.format))
                     : first_line(d.messages));
    if (header.format == ImageFormat::kJpeg) {
      const std::string damage = jpeg_damage(d.messages);
      RAYVID_CHECK(damage.empty(), BadInput,
                   "{}: damaged JPEG data ({}); re-export or re-download the image", label, damage);
    }
    // The header said the same, unless the decoder disagrees with our reading of it.
    RAYVID_CHECK(d.mat.cols <= kMaxImageSide && d.mat.rows <= kMaxImageSide &&
                     static_cast<int64_t>(d.mat.cols) * d.mat.rows <= kMaxImagePixels,
                 BadInput, "{}: image is {}x{}; rayvid accepts at most {} pixels a side and {} MP",
                 label, d.mat.cols, d.mat.rows, kMaxImageSide, kMaxImagePixels / 1'000'000);
  };

  // Two decodes only when needed: IMREAD_UNCHANGED keeps alpha but skips EXIF orientation, and
  // the formats that carry alpha here (PNG, WebP) rarely carry EXIF orientation; JPEG has no
  // alpha, so it is decoded once, with its orientation applied.
  if (header.format != ImageFormat::kJpeg) {
    Decoded unchanged = decode(bytes, cv::IMREAD_UNCHANGED, label);
    check_decoded(unchanged);
    if (unchanged.mat.channels() == 4) {
      cv::Mat bgra = to_8bit(unchanged.mat), bgr(bgra.rows, bgra.cols, CV_8UC3);
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
  }  // the first decode is freed here, before the second allocates
  const Decoded oriented = decode(bytes, cv::IMREAD_COLOR | cv::IMREAD_ANYDEPTH, label);
  check_decoded(oriented);
  return from_bgr(to_8bit(oriented.mat));
}

Image resize_cover_crop(const Image& image, int width, int height) {
  RAYVID_CHECK(width > 0 && height > 0, BadArgument, "cannot resize to {}x{}", width, height);
  RAYVID_CHECK(image.width > 0 && image.height > 0, BadInput, "cannot resize an empty image");
  if (image.width == width && image.height == height) return image;
  const double scale = std::max(static_cast<double>(width) / image.width,
                                static_cast<double>(height) / image.height);
  const int interpolation = scale < 1.0 ? cv::INTER_AREA : cv::INTER_CUBIC;
  const int64_t scaled_w = std::max<int64_t>(width, std::llround(image.width * scale));
  const int64_t scaled_h = std::max<int64_t>(height, std::llround(image.height * scale));
  // The scaled image exceeds the target by the aspect-ratio mismatch: a 1x16384 strip covering
  // 256x256 would be 256x4194304 (3 GB). Up to kMaxCoverOverscan times the target area the
  // resize-then-crop of PIL/diffusers pipelines runs as before (bit for bit); beyond it the source
  // is centre-cropped to the target's aspect ratio first and only that part is resized: the same
  // picture, up to resampling at the crop's edges, in memory bounded by source + target.
  constexpr int64_t kMaxCoverOverscan = 4;
  if (scaled_w * scaled_h > kMaxCoverOverscan * width * height) {
    // The part of the source that the cover-scaled image's crop shows, at the same offset.
    const int crop_w = std::clamp(static_cast<int>(std::lround(width / scale)), 1, image.width);
    const int crop_h = std::clamp(static_cast<int>(std::lround(height / scale)), 1, image.height);
    const int x0 = std::clamp(static_cast<int>(std::lround((scaled_w - width) / 2 / scale)), 0,
                              image.width - crop_w);
    const int y0 = std::clamp(static_cast<int>(std::lround((scaled_h - height) / 2 / scale)), 0,
                              image.height - crop_h);
    const cv::Rect crop(x0, y0, crop_w, crop_h);
    cv::Mat resized;
    cv::resize(to_bgr(image)(crop), resized, cv::Size(width, height), 0, 0, interpolation);
    return from_bgr(resized);
  }
  cv::Mat scaled;
  cv::resize(to_bgr(image), scaled,
             cv::Size(static_cast<int>(scaled_w), static_cast<int>(scaled_h)), 0, 0, interpolation);
  const int x0 = static_cast<int>(scaled_w - width) / 2,
            y0 = static_cast<int>(scaled_h - height) / 2;
  return from_bgr(scaled(cv::Rect(x0, y0, width, height)).clone());
}

void write_png(const fs::path& path, const Image& image) {
  std::vector<uint8_t> encoded;
  RAYVID_CHECK(cv::imencode(".png", to_bgr(image), encoded), Internal, "PNG encoding failed");
  write_file_atomic(
      path, std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
}

}  // namespace rayvid::io
