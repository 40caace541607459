// Hardening item 8: image bombs. A 633-byte JPEG whose SOF says 32000x32000 allocated 3 GB before
// the size check ran, a PNG whose IHDR says 20000x20000 was decoded as far as its data went (and
// then blamed as "not a readable image"), and a 1x16384 strip (within the limits) resized to cover
// 256x256 made a 256x4194304 intermediate: 3.2 GB, exit 0. The size now comes from the header,
// before anything is allocated, and the cover resize crops first when the aspect ratios differ
// wildly. Peak memory is measured on the CLI as a child's maximum RSS (wait4), against the same
// command with a plain image, so the LibTorch baseline cancels out.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "hardening/hardening_support.h"
#include "io/image.h"
#include "io/video.h"
#include "rayvid/error.h"

namespace rayvid::hardening {
namespace {

// What a bomb may cost above a plain image: far below the 1.2-3.2 GB the bombs used to take.
constexpr long kSlackKb = 256 * 1024;

struct Measured {
  int exit_code = -1;
  long max_rss_kb = 0;  // of the shell and the command it ran
  std::string err;      // stderr
};

// Runs `command` through /bin/sh with stdout discarded and stderr captured, and returns the
// child's peak resident memory as wait4 reports it (which includes its waited-for children).
Measured run_measured(const std::string& command, const fs::path& dir) {
  const fs::path err_file = dir / "stderr.txt";
  const std::string line = command + " >/dev/null 2>" + quoted(err_file);
  Measured m;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage {};
  if (pid < 0 || ::wait4(pid, &status, 0, &usage) != pid) return m;
  m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  m.max_rss_kb = usage.ru_maxrss;
  std::ifstream in(err_file);
  m.err.assign(std::istreambuf_iterator<char>(in), {});
  return m;
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

// A real 16x16 JPEG whose first SOF marker is patched to say 32000x32000.
void write_jpeg_bomb(const fs::path& path) {
  std::vector<uint8_t> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", cv::Mat(16, 16, CV_8UC3, cv::Scalar(40, 90, 200)), jpeg));
  for (size_t i = 2; i + 8 < jpeg.size(); ++i)
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {  // SOF0: FF C0, length, precision, H, W
      jpeg[i + 5] = 32000 >> 8;
      jpeg[i + 6] = 32000 & 0xFF;
      jpeg[i + 7] = 32000 >> 8;
      jpeg[i + 8] = 32000 & 0xFF;
      write_bytes(path, jpeg);
      return;
    }
  FAIL() << "no SOF0 in OpenCV's JPEG";
}

uint32_t crc32(const uint8_t* data, size_t n) {  // PNG's CRC (ISO 3309), bit by bit
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= data[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

void append_chunk(std::vector<uint8_t>& png, const char* type, const std::vector<uint8_t>& data) {
  const auto be32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) png.push_back(static_cast<uint8_t>(v >> s));
  };
  be32(static_cast<uint32_t>(data.size()));
  const size_t start = png.size();
  png.insert(png.end(), type, type + 4);
  png.insert(png.end(), data.begin(), data.end());
  be32(crc32(png.data() + start, png.size() - start));
}

// A PNG with a valid IHDR (CRC included) for 20000x20000 RGB, then the IDAT and IEND of a 1x1
// image: the header is what a bomb is made of; decoding its data is what must not happen.
void write_png_bomb(const fs::path& path) {
  std::vector<uint8_t> small;
  ASSERT_TRUE(cv::imencode(".png", cv::Mat(1, 1, CV_8UC3, cv::Scalar(1, 2, 3)), small));
  std::vector<uint8_t> png(small.begin(), small.begin() + 8);  // the signature
  const std::vector<uint8_t> ihdr = {
      0, 0, 0x4E, 0x20, 0, 0, 0x4E, 0x20,  // 20000 x 20000
      8, 2, 0,    0,    0};                // 8-bit RGB, deflate, no filter, no interlace
  append_chunk(png, "IHDR", ihdr);
  png.insert(png.end(), small.begin() + 33, small.end());  // the 1x1 image's IDAT and IEND
  write_bytes(path, png);
}

// Expects read_image to refuse `path` as kBadInput naming `needle`, within a second or two.
void expect_refused_fast(const fs::path& path, const std::string& needle) {
  const auto start = std::chrono::steady_clock::now();
  try {
    io::read_image(path);
    ADD_FAILURE() << path << " was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("at most 16384"), std::string::npos) << e.what();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 2.0) << "refusing " << path << " took " << seconds << " s";
}

std::string dry_run_with_image(const fs::path& dir, const fs::path& image) {
  return small_generate(dir) + " --dry-run --image " + quoted(image);
}

TEST(ImageBombs, ReadImageRefusesFromTheHeader) {
  const auto dir = test::scratch_dir("hardening_image_bombs_io");
  write_jpeg_bomb(dir / "bomb.jpg");
  write_png_bomb(dir / "bomb.png");
  expect_refused_fast(dir / "bomb.jpg", "32000x32000");
  expect_refused_fast(dir / "bomb.png", "20000x20000");
}

TEST(ImageBombs, CliRefusesInOneLineWithoutTheMemory) {
  const auto dir = test::scratch_dir("hardening_image_bombs_cli");
  write_jpeg_bomb(dir / "bomb.jpg");
  write_png_bomb(dir / "bomb.png");
  ASSERT_TRUE(cv::imwrite((dir / "plain.png").string(), cv::Mat(64, 64, CV_8UC3, cv::Scalar(9))));
  const Measured plain = run_measured(dry_run_with_image(dir, dir / "plain.png"), dir);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const std::pair<const char*, const char*> bombs[] = {{"bomb.jpg", "32000x32000"},
                                                       {"bomb.png", "20000x20000"}};
  for (const auto& [file, size] : bombs) {
    const Measured m = run_measured(dry_run_with_image(dir, dir / file), dir);
    EXPECT_EQ(m.exit_code, 3) << file << "\n" << m.err;
    EXPECT_EQ(count_lines(m.err), 1) << file << " not one line:\n" << m.err;
    EXPECT_NE(m.err.find(size), std::string::npos) << m.err;
    EXPECT_NE(m.err.find("scale it down"), std::string::npos) << m.err;  // the fix
    EXPECT_LT(m.max_rss_kb, plain.max_rss_kb + kSlackKb)
        << file << ": peak " << m.max_rss_kb / 1024 << " MiB against " << plain.max_rss_kb / 1024
        << " MiB for a plain image";
  }
}

TEST(ImageBombs, ThinStripResizesInBoundedMemory) {
  const auto dir = test::scratch_dir("hardening_image_bombs_thin");
  // 1x16384 is within the limits (16384 a side, 100 MP), so it is accepted; the cover resize to
  // 256x256 must not scale it to 256x4194304 first.
  // One colour around the middle, another elsewhere: the cover crop shows only the middle.
  cv::Mat strip(16384, 1, CV_8UC3, cv::Scalar(0, 0, 0));
  strip.rowRange(7800, 8600).setTo(cv::Scalar(30, 160, 220));  // BGR
  ASSERT_TRUE(cv::imwrite((dir / "thin.png").string(), strip));
  const io::Image thin = io::read_image(dir / "thin.png");
  ASSERT_EQ(thin.width, 1);
  ASSERT_EQ(thin.height, 16384);

  // In the io layer: the middle of the strip, scaled up.
  const io::Image covered = io::resize_cover_crop(thin, 256, 256);
  ASSERT_EQ(covered.width, 256);
  ASSERT_EQ(covered.height, 256);
  for (int y = 0; y < 256; y += 15)
    for (int x = 0; x < 256; x += 15) {
      ASSERT_EQ(covered.at(y, x, 0), 220) << y << "," << x;
      ASSERT_EQ(covered.at(y, x, 1), 160) << y << "," << x;
      ASSERT_EQ(covered.at(y, x, 2), 30) << y << "," << x;
    }

  // Through the CLI: `rayvid analyze --source` covers the video's 256x256 with the strip.
  ASSERT_TRUE(cv::imwrite((dir / "plain.png").string(), cv::Mat(256, 256, CV_8UC3, cv::Scalar(9))));
  io::VideoFrames video{256, 256, 2, std::vector<uint8_t>(256 * 256 * 3 * 2, 100)};
  io::Mp4Options options;
  options.preset = "ultrafast";
  io::write_mp4(dir / "clip.mp4", video, options);
  auto analyze = [&](const char* source) {
    return cli() + " analyze " + quoted(dir / "clip.mp4") + " --no-plots --source " +
           quoted(dir / source) + " --out " + quoted(dir / "out");
  };
  const Measured plain = run_measured(analyze("plain.png"), dir);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const Measured m = run_measured(analyze("thin.png"), dir);
  EXPECT_EQ(m.exit_code, 0) << m.err;
  EXPECT_LT(m.max_rss_kb, plain.max_rss_kb + kSlackKb)
      << "peak " << m.max_rss_kb / 1024 << " MiB against " << plain.max_rss_kb / 1024
      << " MiB for a plain source";
}

}  // namespace
}  // namespace rayvid::hardening
