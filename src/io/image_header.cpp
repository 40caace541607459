// Header-only parsing of PNG, JPEG, WebP and BMP dimensions (see image_header.h for why). Every
// read is bounds-checked: the input is an untrusted file. When this reader finds no size the image
// is refused, so it may be stricter than a decoder, never more lenient about which size counts.
#include "io/image_header.h"

#include <cstring>

namespace rayvid::io {
namespace {

uint32_t be16(const uint8_t* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t be32(const uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
uint32_t le16(const uint8_t* p) { return uint32_t{p[0]} | (uint32_t{p[1]} << 8); }
uint32_t le24(const uint8_t* p) { return le16(p) | (uint32_t{p[2]} << 16); }
uint32_t le32(const uint8_t* p) { return le24(p) | (uint32_t{p[3]} << 24); }

bool starts_with(const uint8_t* data, size_t size, size_t offset, const char* magic) {
  const size_t n = std::strlen(magic);
  return size >= offset + n && std::memcmp(data + offset, magic, n) == 0;
}

// PNG: the 8-byte signature, then the IHDR chunk (length 13), whose data starts with the width and
// the height as big-endian 32-bit numbers. libpng requires IHDR to be the first chunk.
void png_size(const uint8_t* d, size_t size, ImageHeader* h) {
  if (size < 24 || be32(d + 8) != 13 || std::memcmp(d + 12, "IHDR", 4) != 0) return;
  h->width = be32(d + 16);
  h->height = be32(d + 20);
}

// Whether an EOI marker (FF D9) follows the first SOS marker at or after `pos`. Inside the
// entropy-coded data a 0xFF byte is always followed by 0x00 (stuffing) or a marker, so the first FF
// D9 there is the real end of the image (an EXIF thumbnail's own EOI comes before the SOS); data
// appended after the EOI (camera trailers, motion photos) does not matter.
bool jpeg_has_end(const uint8_t* d, size_t size, size_t pos) {
  bool in_scan = false;
  for (size_t i = pos; i + 1 < size; ++i) {
    if (d[i] != 0xFF) continue;
    if (d[i + 1] == 0xDA) in_scan = true;
    if (d[i + 1] == 0xD9 && in_scan) return true;
  }
  return false;
}

// JPEG: segments after SOI, walked the way libjpeg's read_markers does (garbage before a marker and
// 0xFF fill bytes are skipped, RSTn/TEM stand alone, everything else carries a 16-bit length) up to
// the first SOFn, which holds precision, height and width. libjpeg decodes with that first SOF (a
// second one is an error); a scan or EOI before any SOF means no image.
void jpeg_size(const uint8_t* d, size_t size, ImageHeader* h) {
  size_t pos = 2;
  while (true) {
    while (pos < size && d[pos] != 0xFF) ++pos;
    while (pos < size && d[pos] == 0xFF) ++pos;
    if (pos >= size) return;
    const uint8_t marker = d[pos++];
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;
    if (marker == 0xD8 || marker == 0xD9 || marker == 0xDA) return;  // SOI again, EOI, SOS
    if (pos + 2 > size) return;
    const uint32_t length = be16(d + pos);
    if (length < 2) return;
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
                     marker != 0xCC;  // C4 DHT, C8 JPG (reserved), CC DAC
    if (sof) {
      if (length < 8 || pos + 7 > size) return;
      h->height = be16(d + pos + 3);  // 0 would mean "defined by DNL": libjpeg refuses that
      h->width = be16(d + pos + 5);
      h->complete = jpeg_has_end(d, size, pos);
      return;
    }
    pos += length;
  }
}

// WebP: "RIFF" size "WEBP", then the first chunk. VP8 (lossy): a 3-byte frame tag, the start code
// 9D 01 2A, then 14-bit width and height (2 scaling bits above each). VP8L (lossless): the byte
// 0x2F, then 14-bit width-1 and height-1 packed little-endian. VP8X (extended): flags, 3 reserved
// bytes, then 24-bit canvas width-1 and height-1, the size libwebp (and OpenCV) allocates.
void webp_size(const uint8_t* d, size_t size, ImageHeader* h) {
  if (starts_with(d, size, 12, "VP8 ")) {
    if (size < 30 || d[23] != 0x9D || d[24] != 0x01 || d[25] != 0x2A) return;
    h->width = le16(d + 26) & 0x3FFF;
    h->height = le16(d + 28) & 0x3FFF;
  } else if (starts_with(d, size, 12, "VP8L")) {
    if (size < 25 || d[20] != 0x2F) return;
    const uint32_t bits = le32(d + 21);
    h->width = (bits & 0x3FFF) + 1;
    h->height = ((bits >> 14) & 0x3FFF) + 1;
  } else if (starts_with(d, size, 12, "VP8X")) {
    if (size < 30) return;
    h->width = int64_t{le24(d + 24)} + 1;
    h->height = int64_t{le24(d + 27)} + 1;
  }
}

// BMP: a 14-byte file header, then the info header, whose first field is its own size: 12 for the
// OS/2 BITMAPCOREHEADER (16-bit width and height), 16 or more for the others (signed 32-bit width
// and height; a negative height means rows are stored top-down).
void bmp_size(const uint8_t* d, size_t size, ImageHeader* h) {
  if (size < 18) return;
  const uint32_t info_size = le32(d + 14);
  if (info_size == 12) {
    if (size < 22) return;
    h->width = le16(d + 18);
    h->height = le16(d + 20);
  } else if (info_size >= 16) {
    if (size < 26) return;
    const auto width = static_cast<int32_t>(le32(d + 18));
    const auto height = static_cast<int32_t>(le32(d + 22));
    if (width <= 0) return;
    h->width = width;
    h->height = height < 0 ? -int64_t{height} : int64_t{height};
  }
}

}  // namespace

const char* format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::kPng:
      return "PNG";
    case ImageFormat::kJpeg:
      return "JPEG";
    case ImageFormat::kWebp:
      return "WebP";
    case ImageFormat::kBmp:
      return "BMP";
    case ImageFormat::kUnknown:
      break;
  }
  return "unknown";
}

ImageHeader read_image_header(const uint8_t* data, size_t size) {
  ImageHeader h;
  // The same signatures OpenCV's decoders test (grfmt_*.cpp), so the decoder that runs later is
  // the one whose header was read here.
  if (starts_with(data, size, 0, "\x89PNG\r\n\x1a\n")) {
    h.format = ImageFormat::kPng;
    png_size(data, size, &h);
  } else if (starts_with(data, size, 0, "\xFF\xD8\xFF")) {
    h.format = ImageFormat::kJpeg;
    jpeg_size(data, size, &h);
  } else if (starts_with(data, size, 0, "RIFF") && starts_with(data, size, 8, "WEBP")) {
    h.format = ImageFormat::kWebp;
    webp_size(data, size, &h);
  } else if (starts_with(data, size, 0, "BM")) {
    h.format = ImageFormat::kBmp;
    bmp_size(data, size, &h);
  }
  if (h.width <= 0 || h.height <= 0) h.width = h.height = 0;
  return h;
}

}  // namespace rayvid::io
