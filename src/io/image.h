// Still images in and out: decoding (PNG, JPEG, WebP, BMP) to 8-bit RGB, resize + centre crop.
// No OpenCV types in this header: an Image is plain interleaved RGB bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace rayvid::io {

struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // [height, width, 3], row-major, interleaved RGB
  uint8_t at(int y, int x, int c) const {
    return rgb[(static_cast<size_t>(y) * width + x) * 3 + c];
  }
};

inline constexpr int64_t kMaxImagePixels = 100'000'000;  // 100 MP; larger is refused
inline constexpr int kMaxImageSide = 16384;

// Decodes an image file. EXIF orientation is honoured; an alpha channel is composited over
// white; 16-bit and grayscale images become 8-bit RGB. Unreadable, empty, truncated or absurdly
// large images are a kBadInput error naming the file and the reason, in one line: the size limits
// are checked on the file's header before anything is decoded (image_header.h), and what the
// codec libraries would print on stderr is folded into that line instead.
Image read_image(const std::filesystem::path& path);

// Scales so the image covers width x height (aspect kept), then crops the centre.
// Interpolation is area for shrinking and bicubic for enlarging. When the aspect ratios differ by
// more than 4x (a 1x16384 strip into 256x256), the centre is cropped to the target's aspect ratio
// first and only that part is scaled, so memory stays bounded by the source and the target.
Image resize_cover_crop(const Image& image, int width, int height);

// Writes PNG (used by tests and analysis tools), atomically.
void write_png(const std::filesystem::path& path, const Image& image);

}  // namespace rayvid::io
