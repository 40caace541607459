// Hardening item 13 (images): errors are one line on stderr. libpng and libjpeg printed their own
// lines before rayvid's ("libpng error: ...", "Corrupt JPEG data: ..."), a truncated JPEG was
// accepted (exit 0, its missing rows unfilled), a harmless libpng warning reached stderr on a run
// that succeeded, and `--image` naming a folder said "file not found".
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "hardening/hardening_support.h"

namespace rayvid::hardening {
namespace {

std::vector<uint8_t> encode(const char* ext) {
  cv::Mat noise(64, 64, CV_8UC3);
  cv::RNG rng(7);
  rng.fill(noise, cv::RNG::UNIFORM, 0, 256);
  std::vector<uint8_t> bytes;
  EXPECT_TRUE(cv::imencode(ext, noise, bytes)) << ext;
  return bytes;
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

size_t find(const std::vector<uint8_t>& bytes, std::string_view what) {
  const auto it = std::search(bytes.begin(), bytes.end(), what.begin(), what.end(),
                              [](uint8_t b, char c) { return b == static_cast<uint8_t>(c); });
  EXPECT_NE(it, bytes.end()) << what;
  return static_cast<size_t>(it - bytes.begin());
}

std::string dry_run(const fs::path& dir, const std::string& flags) {
  return small_generate(dir) + " --dry-run " + flags;
}

TEST(ImageMessages, TruncatedAndCorruptImagesAreOneLineExit3) {
  const auto dir = test::scratch_dir("hardening_image_messages");
  const std::vector<uint8_t> png = encode(".png"), jpeg = encode(".jpg");
  write_bytes(dir / "truncated.png", {png.begin(), png.begin() + png.size() / 2});
  write_bytes(dir / "truncated.jpg", {jpeg.begin(), jpeg.begin() + jpeg.size() / 2});
  std::vector<uint8_t> bad_png = png, bad_jpeg = jpeg;
  for (size_t i = find(png, "IDAT") + 20; i < find(png, "IDAT") + 200; ++i) bad_png[i] ^= 0x33;
  // Flipped bits all over the entropy-coded data: libjpeg warns ("Corrupt JPEG data") and returns
  // garbage rows, which used to be accepted.
  for (size_t i = find(jpeg, "\xFF\xDA") + 40; i + 10 < jpeg.size(); i += 7) bad_jpeg[i] ^= 0x5A;
  write_bytes(dir / "corrupt.png", bad_png);
  write_bytes(dir / "corrupt.jpg", bad_jpeg);
  for (const char* name : {"truncated.png", "truncated.jpg", "corrupt.png", "corrupt.jpg"})
    expect_clean_error(dry_run(dir, "--image " + quoted(dir / name)), 3,
                       (dir / name).string() + ": ", dir);
}

TEST(ImageMessages, CodecWarningsOnAGoodImageStayOffStderr) {
  // A bad CRC on an ancillary chunk: libpng warns ("libpng warning: tEXt: CRC error"), drops the
  // chunk and decodes the image, so the run goes on, with nothing on stderr.
  const auto dir = test::scratch_dir("hardening_image_warnings");
  const std::vector<uint8_t> png = encode(".png");
  std::vector<uint8_t> warned(png.begin(), png.begin() + 33);  // signature and IHDR
  const uint8_t text[] = {0, 0, 0, 5, 't', 'E', 'X', 't', 'a', 0, 'b', 'c', 'd', 1, 2, 3, 4};
  warned.insert(warned.end(), std::begin(text), std::end(text));
  warned.insert(warned.end(), png.begin() + 33, png.end());
  write_bytes(dir / "warned.png", warned);
  const auto r = test::run_command("{ " + dry_run(dir, "--image " + quoted(dir / "warned.png")) +
                                   " >/dev/null; }");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "") << "stderr of a successful run";
}

TEST(ImageMessages, FolderGivenAsImageSaysFolder) {
  const auto dir = test::scratch_dir("hardening_image_folder");
  fs::create_directory(dir / "pictures");
  expect_clean_error(dry_run(dir, "--image " + quoted(dir / "pictures")), 3, "folder", dir);
  expect_clean_error(dry_run(dir, "--reference " + quoted(dir / "pictures")), 3, "folder", dir);
  expect_clean_error(dry_run(dir, "--image " + quoted(dir / "missing.png")), 3, "not found", dir);
}

// No model rayvid runs uses reference images: a readable one is refused (exit 4, the model kind
// that can), never accepted and dropped.
TEST(ImageMessages, ReferenceImagesAreRefusedNotDropped) {
  const auto dir = test::scratch_dir("hardening_reference_refused");
  write_bytes(dir / "ref.png", encode(".png"));
  expect_clean_error(dry_run(dir, "--reference " + quoted(dir / "ref.png")), 4, "VACE", dir);
}

}  // namespace
}  // namespace rayvid::hardening
