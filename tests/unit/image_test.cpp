// Images: every supported format decodes to the same pixels, EXIF orientation is applied, alpha is
// composited on white, 16-bit and grayscale are converted, and bad files give clear errors.
#include "io/image.h"

#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

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
  const uint8_t app1[] = {0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,  // marker, length 34
                          'I', 'I', 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00,     // TIFF header
                          0x01, 0x00,                                       // 1 entry
                          0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00,   // tag, SHORT, count 1
                          0x06, 0x00, 0x00, 0x00,                           // value 6
                          0x00, 0x00, 0x00, 0x00};                          // no next IFD
  jpeg.insert(jpeg.begin() + 2, std::begin(app1), std::end(app1));
  std::ofstream(dir / "rotated.jpg", std::ios::binary)
      .write(reinterpret_cast<const char*>(jpeg.data()), static_cast<std::streamsize>(jpeg.size()));
  const Image img = read_image(dir / "rotated.jpg");
  EXPECT_EQ(img.width, 16);
  EXPECT_EQ(img.height, 32);
  EXPECT_GT(img.at(2, 8, 0), 200);   // the left band is now at the top
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

}  // namespace
}  // namespace rayvid::io
