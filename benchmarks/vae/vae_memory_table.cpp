// Prints the README table of predicted peak decode memory for the real Wan2.2 VAE (TI2V-5B) at
// 540p/720p/1080p x 5 s/10 s (24 fps: 121 / 241 frames), from the memory model: untiled, with
// diffusers' default tiles (256 px, stride 192) and with what Tiling::kAuto picks for a budget.
#include <fmt/format.h>

#include <cstdio>

#include "models/wan_vae/memory_model.h"

using namespace rayvid::models::wan_vae;

namespace {

std::string gib(uint64_t bytes) { return fmt::format("{:.1f}", bytes / double(1ull << 30)); }

}  // namespace

int main() {
  const auto cfg = WanVAEConfig::wan22();
  struct Size {
    const char* name;
    int64_t width, height;
  };
  const Size sizes[] = {{"540p", 960, 544}, {"720p", 1280, 704}, {"1080p", 1920, 1088}};
  const struct {
    const char* name;
    int64_t frames;
  } durations[] = {{"5 s", 121}, {"10 s", 241}};
  const TilePlan untiled;
  const TilePlan tiles{true, 256, 256, 192, 192};
  std::printf(
      "| size | duration | frames | latent | dtype | untiled (GiB) | peak layer | tiled 256/192 "
      "(GiB) | of which weights + video |\n|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& s : sizes) {
    for (const auto& d : durations) {
      for (auto dtype : {at::kFloat, at::kBFloat16}) {
        const int64_t t = cfg.num_frames_latent(d.frames);
        const int64_t h = s.height / 16, w = s.width / 16;
        const auto a = estimate_decode_memory(cfg, 1, t, h, w, dtype, untiled);
        const auto b = estimate_decode_memory(cfg, 1, t, h, w, dtype, tiles);
        std::printf("| %s (%ldx%ld) | %s | %ld | 48x%ldx%ldx%ld | %s | %s | %s | %s | %s |\n",
                    s.name, s.width, s.height, d.name, d.frames, t, h, w,
                    dtype == at::kFloat ? "fp32" : "bf16", gib(a.total()).c_str(),
                    a.peak_layer.c_str(), gib(b.total()).c_str(), gib(b.weights + b.io).c_str());
      }
    }
  }
  return 0;
}
