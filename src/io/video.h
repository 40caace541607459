// Video frames in memory, and MP4 files out (H.264 through libavcodec/libx264) and in (decode with
// libavcodec, for tests and `rayvid analyze`). No FFmpeg types in this header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
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
  int fps = 16;                  // exact integer frame rate (Wan2.1: 16, Wan2.2 TI2V: 24)
  int crf = 18;                  // x264 constant rate factor: 0 lossless .. 51 worst
  std::string preset = "medium"; // x264 speed preset
  // Container tags. "comment" carries the generation parameters as JSON.
  std::map<std::string, std::string> metadata;
};

// Encodes H.264 yuv420p with BT.709 colour tags and +faststart. Writes a temporary file in the
// target folder and renames it on success. Odd sizes are a kBadArgument error.
void write_mp4(const std::filesystem::path& path, const VideoFrames& video,
               const Mp4Options& options);

struct DecodedVideo {
  VideoFrames frames;
  double fps = 0;
  std::string codec;
  std::map<std::string, std::string> metadata;  // container tags
};

// Decodes every frame of a video file to RGB (BT.709, limited range, as write_mp4 tags it).
DecodedVideo read_video(const std::filesystem::path& path);

}  // namespace rayvid::io
