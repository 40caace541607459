// Images: every supported format decodes to the same pixels, EXIF orientation is applied, alpha is
// composited on white, 16-bit and grayscale are converted, and bad files give clear errors.
#include "io/image.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "io/image_header.h"
#include "rayvid/error.h"
#include "support/test_env.h"

namespace rayvid::io {
namespace {
namespace fs = std::filesystem;

// A 6x4 BGR test card with a distinct colour per quadrant.
cv::Mat test_card() {
  cv::Mat m(4, 6, CV_8UC3);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 6; ++x)
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(x < 3 ? 200 : 20, y < 2 ? 40 : 220, (x + y) * 20);
  return m;
}

std::string error_of(const fs::path& path) {
  try {
    read_image(path);
  } catch (const rayvid::Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
    return e.what();
  }
  return "";
}

TEST(Image, LosslessFormatsDecodeToRgb) {
  const auto dir = test::scratch_dir("image_formats");
  const cv::Mat card = test_card();
  for (const char* ext : {".png", ".bmp", ".webp"}) {
    const fs::path path = dir / (std::string("card") + ext);
    std::vector<int> params;
    if (std::string(ext) == ".webp") params = {cv::IMWRITE_WEBP_QUALITY, 101};  // lossless
    ASSERT_TRUE(cv::imwrite(path.string(), card, params)) << ext;
    const Image img = read_image(path);
    ASSERT_EQ(img.width, 6);
    ASSERT_EQ(img.height, 4);
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 6; ++x)
        for (int c = 0; c < 3; ++c)  // BGR on disk, RGB in memory
          EXPECT_EQ(img.at(y, x, c), card.at<cv::Vec3b>(y, x)[2 - c]) << ext;
  }
}

TEST(Image, JpegHonoursExifOrientation) {
  const auto dir = test::scratch_dir("image_exif");
  cv::Mat wide(16, 32, CV_8UC3, cv::Scalar(0, 0, 0));
  wide(cv::Rect(0, 0, 8, 16)).setTo(cv::Scalar(255, 255, 255));  // white band on the left
  std::vector<uint8_t> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", wide, jpeg, {cv::IMWRITE_JPEG_QUALITY, 95}));
  // APP1 Exif segment with one IFD entry: Orientation (0x0112) = 6, "rotate 90 degrees clockwise".
  const uint8_t app1[] = {0xFF, 0xE1, 0x00, 0x22, 'E',  'x',  'i',  'f',
                          0,    0,                                         // marker, length 34
                          'I',  'I',  0x2A, 0x00, 0x08, 0x00, 0x00, 0x00,  // TIFF header
                          0x01, 0x00,                                      // 1 entry
                          0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00,  // tag, SHORT, count 1
                          0x06, 0x00, 0x00, 0x00,                          // value 6
                          0x00, 0x00, 0x00, 0x00};                         // no next IFD
  jpeg.insert(jpeg.begin() + 2, std::begin(app1), std::end(app1));
  std::ofstream(dir / "rotated.jpg", std::ios::binary)
      .write(reinterpret_cast<const char*>(jpeg.data()), static_cast<std::streamsize>(jpeg.size()));
  const Image img = read_image(dir / "rotated.jpg");
  EXPECT_EQ(img.width, 16);
  EXPECT_EQ(img.height, 32);
  EXPECT_GT(img.at(2, 8, 0), 200);  // the left band is now at the top
  EXPECT_LT(img.at(30, 8, 0), 50);
}

TEST(Image, AlphaIsCompositedOnWhite) {
  const auto dir = test::scratch_dir("image_alpha");
  cv::Mat bgra(2, 2, CV_8UC4, cv::Scalar(0, 0, 255, 0));  // red, fully transparent
  bgra.at<cv::Vec4b>(0, 0) = cv::Vec4b(0, 0, 255, 255);   // one opaque red pixel
  bgra.at<cv::Vec4b>(1, 1) = cv::Vec4b(0, 0, 255, 128);   // half transparent red
  ASSERT_TRUE(cv::imwrite((dir / "alpha.png").string(), bgra));
  const Image img = read_image(dir / "alpha.png");
  EXPECT_EQ(img.at(0, 0, 0), 255);
  EXPECT_EQ(img.at(0, 0, 1), 0);
  EXPECT_EQ(img.at(0, 1, 1), 255);  // transparent becomes white
  EXPECT_NEAR(img.at(1, 1, 1), 127, 1);
}

TEST(Image, SixteenBitAndGrayscaleBecomeEightBitRgb) {
  const auto dir = test::scratch_dir("image_depth");
  cv::Mat deep(2, 2, CV_16UC3, cv::Scalar(65535, 32896, 0));
  ASSERT_TRUE(cv::imwrite((dir / "deep.png").string(), deep));
  const Image a = read_image(dir / "deep.png");
  EXPECT_EQ(a.at(0, 0, 2), 255);  // B channel 65535 -> 255
  EXPECT_EQ(a.at(0, 0, 1), 128);
  EXPECT_EQ(a.at(0, 0, 0), 0);
  cv::Mat gray(3, 5, CV_8UC1, cv::Scalar(77));
  ASSERT_TRUE(cv::imwrite((dir / "gray.png").string(), gray));
  const Image g = read_image(dir / "gray.png");
  EXPECT_EQ(g.width, 5);
  EXPECT_EQ(g.at(1, 1, 0), 77);
  EXPECT_EQ(g.at(1, 1, 2), 77);
}

TEST(Image, BadFilesGiveClearErrors) {
  const auto dir = test::scratch_dir("image_bad");
  EXPECT_NE(error_of(dir / "missing.png").find("not found"), std::string::npos);
  std::ofstream(dir / "empty.png");
  EXPECT_NE(error_of(dir / "empty.png").find("empty"), std::string::npos);
  std::ofstream(dir / "text.png") << "this is not an image";
  EXPECT_NE(error_of(dir / "text.png").find("not a readable image"), std::string::npos);
  cv::Mat tall(kMaxImageSide + 2, 1, CV_8UC1, cv::Scalar(1));
  ASSERT_TRUE(cv::imwrite((dir / "tall.png").string(), tall));
  EXPECT_NE(error_of(dir / "tall.png").find("at most"), std::string::npos);
}

TEST(Image, ResizeCoverCropKeepsTheCentre) {
  Image img;
  img.width = 8;
  img.height = 4;
  img.rgb.resize(8 * 4 * 3);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 8; ++x)
      for (int c = 0; c < 3; ++c) img.rgb[(y * 8 + x) * 3 + c] = x < 2 || x >= 6 ? 0 : 200;
  const Image square = resize_cover_crop(img, 4, 4);  // crops the dark sides away
  EXPECT_EQ(square.width, 4);
  EXPECT_EQ(square.height, 4);
  for (int x = 0; x < 4; ++x) EXPECT_EQ(square.at(2, x, 0), 200);
  const Image big = resize_cover_crop(img, 16, 16);  // enlarges to cover, crops width
  EXPECT_EQ(big.width, 16);
  EXPECT_EQ(big.height, 16);
  EXPECT_NEAR(big.at(8, 8, 1), 200, 2);
}

// The size from the header, for each format as OpenCV writes it, and from every prefix of the file
// either that size or none (never another one, never a read past the end).
TEST(ImageHeader, ReadsTheSizeOfEveryFormatAndNeverAWrongOne) {
  cv::Mat card(23, 37, CV_8UC3, cv::Scalar(10, 200, 90));
  const struct {
    const char* ext;
    std::vector<int> params;
    ImageFormat format;
  } cases[] = {{".png", {}, ImageFormat::kPng},
               {".jpg", {}, ImageFormat::kJpeg},
               {".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}, ImageFormat::kJpeg},
               {".webp", {cv::IMWRITE_WEBP_QUALITY, 80}, ImageFormat::kWebp},   // VP8
               {".webp", {cv::IMWRITE_WEBP_QUALITY, 101}, ImageFormat::kWebp},  // VP8L
               {".bmp", {}, ImageFormat::kBmp}};
  for (const auto& c : cases) {
    std::vector<uint8_t> bytes;
    ASSERT_TRUE(cv::imencode(c.ext, card, bytes, c.params)) << c.ext;
    const ImageHeader h = read_image_header(bytes.data(), bytes.size());
    EXPECT_EQ(h.format, c.format) << c.ext;
    EXPECT_EQ(h.width, 37) << c.ext;
    EXPECT_EQ(h.height, 23) << c.ext;
    EXPECT_TRUE(h.complete) << c.ext;
    for (size_t n = 0; n < bytes.size(); ++n) {
      const ImageHeader part = read_image_header(bytes.data(), n);
      EXPECT_TRUE((part.width == 0 && part.height == 0) || (part.width == 37 && part.height == 23))
          << c.ext << " cut at " << n << ": " << part.width << "x" << part.height;
      // A JPEG cut anywhere before its end-of-image marker is incomplete.
      if (c.format == ImageFormat::kJpeg && part.width > 0 && n + 2 <= bytes.size()) {
        EXPECT_FALSE(part.complete) << c.ext << " cut at " << n;
      }
    }
  }
}

TEST(ImageHeader, OddButValidHeaders) {
  // JPEG: an EXIF segment (with its own thumbnail-like FF D9 bytes) and fill bytes before the SOF.
  std::vector<uint8_t> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", cv::Mat(7, 300, CV_8UC3, cv::Scalar(1, 2, 3)), jpeg));
  const uint8_t app1[] = {0xFF, 0xE1, 0x00, 0x0A, 'E', 'x', 'i', 'f', 0, 0, 0xFF, 0xD9, 0xFF, 0xFF};
  jpeg.insert(jpeg.begin() + 2, std::begin(app1), std::end(app1));
  ImageHeader h = read_image_header(jpeg.data(), jpeg.size());
  EXPECT_EQ(h.width, 300);
  EXPECT_EQ(h.height, 7);
  EXPECT_TRUE(h.complete);

  // BMP stored top-down (negative height), and the OS/2 core header (16-bit sizes).
  std::vector<uint8_t> bmp;
  ASSERT_TRUE(cv::imencode(".bmp", cv::Mat(5, 9, CV_8UC3, cv::Scalar(0)), bmp));
  const int32_t top_down = -5;
  std::memcpy(bmp.data() + 22, &top_down, 4);  // little-endian, as BMP
  h = read_image_header(bmp.data(), bmp.size());
  EXPECT_EQ(h.width, 9);
  EXPECT_EQ(h.height, 5);
  const uint8_t core[] = {'B', 'M', 0, 0,  0, 0, 0, 0,    0,    0,    26,
                          0,   0,   0, 12, 0, 0, 0, 0x10, 0x27, 0x03, 0x00};  // 10000 x 3
  h = read_image_header(core, sizeof(core));
  EXPECT_EQ(h.format, ImageFormat::kBmp);
  EXPECT_EQ(h.width, 10000);
  EXPECT_EQ(h.height, 3);

  // WebP VP8X (extended): the canvas size, 24 bits each, minus one.
  const uint8_t vp8x[] = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E',  'B',  'P',  'V',  'P',  '8',
                          'X', 10,  0,   0,   0, 0, 0, 0, 0,   0x1F, 0x4E, 0x00, 0x3F, 0x9C, 0x00};
  h = read_image_header(vp8x, sizeof(vp8x));
  EXPECT_EQ(h.format, ImageFormat::kWebp);
  EXPECT_EQ(h.width, 20000);
  EXPECT_EQ(h.height, 40000);

  // Formats rayvid does not read, and a JPEG whose scan comes before any frame header.
  const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0};
  EXPECT_EQ(read_image_header(gif, sizeof(gif)).format, ImageFormat::kUnknown);
  const uint8_t tiff[] = {'I', 'I', 42, 0, 8, 0, 0, 0};
  EXPECT_EQ(read_image_header(tiff, sizeof(tiff)).format, ImageFormat::kUnknown);
  const uint8_t sos_first[] = {0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x08, 0xFF, 0xC0, 0x00,
                               0x0B, 0x08, 0x00, 0x10, 0x00, 0x10, 0x01, 0xFF, 0xD9};
  h = read_image_header(sos_first, sizeof(sos_first));
  EXPECT_EQ(h.format, ImageFormat::kJpeg);
  EXPECT_EQ(h.width, 0);
}

TEST(Image, HeaderProblemsAreRefusedBeforeDecoding) {
  const auto dir = test::scratch_dir("image_header_errors");
  auto write = [&](const char* name, const std::vector<uint8_t>& bytes) {
    std::ofstream(dir / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return dir / name;
  };
  std::vector<uint8_t> tiff;
  ASSERT_TRUE(cv::imencode(".tiff", test_card(), tiff));
  EXPECT_NE(error_of(write("card.tiff", tiff)).find("unsupported format"), std::string::npos);
  const std::vector<uint8_t> png_signature_only = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  EXPECT_NE(error_of(write("sig.png", png_signature_only)).find("header is damaged"),
            std::string::npos);
  std::vector<uint8_t> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", test_card(), jpeg));
  jpeg.resize(jpeg.size() - 2);  // no end-of-image marker: OpenCV decodes it without a word
  EXPECT_NE(error_of(write("cut.jpg", jpeg)).find("truncated"), std::string::npos);
}

// The old resize_cover_crop (before the crop-first path), to hold the new one to it bit for bit
// where the aspect ratios are within 4x of each other.
Image reference_cover_crop(const Image& image, int width, int height) {
  const double scale = std::max(static_cast<double>(width) / image.width,
                                static_cast<double>(height) / image.height);
  const int scaled_w = std::max(width, static_cast<int>(std::lround(image.width * scale)));
  const int scaled_h = std::max(height, static_cast<int>(std::lround(image.height * scale)));
  cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.rgb.data())), bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  cv::Mat scaled;
  cv::resize(bgr, scaled, cv::Size(scaled_w, scaled_h), 0, 0,
             scale < 1.0 ? cv::INTER_AREA : cv::INTER_CUBIC);
  const int x0 = (scaled_w - width) / 2, y0 = (scaled_h - height) / 2;
  cv::Mat out;
  cv::cvtColor(scaled(cv::Rect(x0, y0, width, height)), out, cv::COLOR_BGR2RGB);
  return {width, height, std::vector<uint8_t>(out.datastart, out.dataend)};
}

Image smooth_image(int width, int height) {
  Image img{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        img.rgb[(static_cast<size_t>(y) * width + x) * 3 + c] = static_cast<uint8_t>(
            127.5 + 100 * std::sin(0.05 * x * (c + 1) + 0.07 * y) * std::cos(0.03 * (x - y)));
  return img;
}

TEST(Image, ResizeCoverCropIsUnchangedForUsualAspectRatios) {
  const int cases[][4] = {{8, 4, 4, 4},         {8, 4, 16, 16},        {640, 480, 832, 480},
                          {480, 832, 832, 480}, {1280, 720, 480, 832}, {1000, 999, 64, 64},
                          {60, 150, 64, 64}};
  for (const auto& c : cases) {
    const Image src = smooth_image(c[0], c[1]);
    const Image got = resize_cover_crop(src, c[2], c[3]);
    const Image want = reference_cover_crop(src, c[2], c[3]);
    EXPECT_EQ(got.width, want.width);
    EXPECT_EQ(got.height, want.height);
    EXPECT_TRUE(got.rgb == want.rgb) << c[0] << "x" << c[1] << " -> " << c[2] << "x" << c[3];
  }
}

TEST(Image, ResizeCoverCropOfExtremeAspectRatiosCropsFirst) {
  // 8:1 into a square: beyond the 4x bound, so the crop-first path runs. Same picture as the
  // resize-then-crop, up to resampling near the crop's edges.
  for (const auto& [w, h] : {std::pair{64, 8}, std::pair{8, 64}}) {
    const Image src = smooth_image(w, h);
    const Image got = resize_cover_crop(src, 32, 32);
    const Image want = reference_cover_crop(src, 32, 32);
    ASSERT_EQ(got.width, 32);
    ASSERT_EQ(got.height, 32);
    double diff = 0;
    for (size_t i = 0; i < got.rgb.size(); ++i) diff += std::abs(got.rgb[i] - want.rgb[i]);
    EXPECT_LT(diff / static_cast<double>(got.rgb.size()), 3.0) << w << "x" << h;
  }
}

}  // namespace
}  // namespace rayvid::io
