// Hosted-API style presets -> concrete video shapes, one table per model family.
//   size (aspect): 16:9, 9:16, 1:1, 4:3, 3:4, 21:9
//   resolution (short side): 540p, 720p, 1080p
//   duration: 5s, 10s
// Sizes snap to the family's spatial multiple (VAE stride x patch: 16 for Wan2.1/A14B, 32 for
// Wan2.2 TI2V), to the nearest multiple with ties rounding down (so 720p stays the native 704 for
// TI2V). Frames are fps * seconds + 1, which is 4n+1 as the causal VAE needs. 10 s is beyond what
// any Wan model was trained on: it is generated in one pass and may loop or degrade.
#pragma once

#include <string>
#include <vector>

namespace rayvid::pipeline {

struct PresetFamily {
  std::string name;      // "wan2.1" (also A14B) or "wan2.2-ti2v"
  int spatial_multiple;  // 16 or 32
  int fps;               // 16 or 24
  int temporal_stride = 4;
};

PresetFamily preset_family_wan21();  // 16 px, 16 fps: Wan2.1 T2V/I2V and Wan2.2 A14B
PresetFamily preset_family_ti2v();   // 32 px, 24 fps: Wan2.2 TI2V-5B

struct VideoShape {
  int width = 0;
  int height = 0;
  int frames = 0;
  int fps = 0;
};

std::vector<std::string> size_presets();        // "16:9", ...
std::vector<std::string> resolution_presets();  // "540p", ...
std::vector<std::string> duration_presets();    // "5s", "10s"

// The shape for a preset combination; unknown names are kBadArgument errors listing the choices.
VideoShape resolve_preset(const PresetFamily& family, const std::string& size,
                          const std::string& resolution, const std::string& duration);

// Checks an explicit shape (after --width/--height/--frames/--fps overrides) against the family:
// positive, multiples of the spatial multiple, frames = 4n+1, fps 1..120, at most 4096 px a side.
void validate_shape(const PresetFamily& family, const VideoShape& shape);

}  // namespace rayvid::pipeline
