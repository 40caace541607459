// Image dimensions from the file header, before any pixel is decoded.
// Why a reader of our own: OpenCV 4.6 has no public header-only API, and cv::imread/imdecode
// allocate the whole image before decoding a row; OpenCV's own limit (CV_IO_MAX_IMAGE_PIXELS,
// 2^30 pixels) is far above rayvid's, so a 780-byte JPEG whose SOF claims 32000x32000 allocated
// 3 GB before read_image could look at its size. This reads the four formats rayvid accepts.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rayvid::io {

enum class ImageFormat { kUnknown, kPng, kJpeg, kWebp, kBmp };

const char* format_name(ImageFormat format);  // "PNG", "JPEG", "WebP", "BMP", "unknown"

struct ImageHeader {
  ImageFormat format = ImageFormat::kUnknown;  // from the signature, as OpenCV picks its decoder
  int64_t width = 0;   // 0 when the header is truncated or damaged (the decoder would fail too)
  int64_t height = 0;  // as stored: before EXIF orientation, which only swaps the two
  // JPEG: an end-of-image marker follows the first scan. libjpeg, fed from memory by OpenCV, does
  // not notice a truncated file: it returns the missing rows unfilled, without a warning.
  bool complete = true;
};

// Parses the start of a file: the signature, then PNG's IHDR, JPEG's first SOFn marker (after any
// EXIF/ICC segments, so pass the whole file), WebP's VP8/VP8L/VP8X chunk or BMP's info header.
ImageHeader read_image_header(const uint8_t* data, size_t size);

}  // namespace rayvid::io
