// Video frames in memory, and MP4 files out (H.264 through libavcodec/libx264) and in (decode with
// libavcodec, for tests and `rayvid analyze`). No FFmpeg types in this header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace rayvid::io {

struct VideoFrames {
  int width = 0;
  int height = 0;
  int num_frames = 0;
  std::vector<uint8_t> rgb;  // [num_frames, height, width, 3] interleaved RGB
  size_t frame_bytes() const { return static_cast<size_t>(width) * height * 3; }
  const uint8_t* frame(int i) const { return rgb.data() + frame_bytes() * i; }
  uint8_t* frame(int i) { return rgb.data() + frame_bytes() * i; }
};

struct Mp4Options {
  int fps = 16;                   // exact integer frame rate (Wan2.1: 16, Wan2.2 TI2V: 24)
  int crf = 18;                   // x264 constant rate factor: 0 lossless .. 51 worst
  std::string preset = "medium";  // x264 speed preset
  // Container tags. "comment" carries the generation parameters as JSON.
  std::map<std::string, std::string> metadata;
};

// Encodes H.264 yuv420p with BT.709 colour tags and +faststart. Writes a temporary file in the
// target folder and renames it on success. Odd sizes are a kBadArgument error.
void write_mp4(const std::filesystem::path& path, const VideoFrames& video,
               const Mp4Options& options);
// The same, written straight to `path` (no temporary, no rename): for callers that manage the
// atomic landing themselves (an MP4 and its sidecar together, io::OutputSet).
void write_mp4_file(const std::filesystem::path& path, const VideoFrames& video,
                    const Mp4Options& options);

struct DecodedVideo {
  VideoFrames frames;
  double fps = 0;
  std::string codec;
  std::map<std::string, std::string> metadata;  // container tags
};

// What a reader accepts. Checked on the container's and codec's parameters before any frame is
// decoded, and again on every decoded frame: a 46 KB MP4 can declare two 8192x4320 frames.
struct VideoLimits {
  int max_side = 4096;        // pixels a side: the most rayvid generates
  int64_t max_frames = 3600;  // 2.5 minutes at 24 fps; rayvid generates at most 1001
};

struct VideoInfo {
  int width = 0;
  int height = 0;
  int64_t frame_count = 0;  // the container's count (or duration x fps); 0 when unknown
  double fps = 0;
  std::string codec;
  std::map<std::string, std::string> metadata;  // container tags
};

// Decodes a video one frame at a time, to RGB (BT.709, limited range, as write_mp4 tags it).
// Memory: one RGB frame plus the decoder's reference frames, whatever the length. A video above
// `limits` is a kBadInput error (one line: the file, its size, the cap and the fix) raised by the
// constructor when the container tells, else by next() at the first frame beyond a cap.
class VideoReader {
 public:
  explicit VideoReader(const std::filesystem::path& path, const VideoLimits& limits = {});
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  const VideoInfo& info() const;
  // The next frame as [height, width, 3] RGB in `rgb` (resized to fit); false at the end of the
  // stream, leaving `rgb` as it was.
  bool next(std::vector<uint8_t>& rgb);
  int frames_read() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Decodes every frame into memory (with read_video's caps, up to 3600 x 4096 x 4096 x 3 bytes:
// for tests and for comparing rayvid's own outputs; `rayvid analyze` streams with VideoReader).
DecodedVideo read_video(const std::filesystem::path& path, const VideoLimits& limits = {});

}  // namespace rayvid::io
