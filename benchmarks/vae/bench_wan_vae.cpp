// WanVAE decode benchmark: wall time and peak RSS of one decode, next to the memory model's
// prediction. Prints one JSON line. Usage:
//   bench_wan_vae <vae dir> <latent frames> <latent height> <latent width> [fp32|bf16]
//                 [tile px (0 = untiled)] [overlap px]
// Weights are paged in and oneDNN is warmed up by a small decode first; the peak is then reset,
// so "measured" is the decode's own working set (compare with the model's total minus weights).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "core/device.h"
#include "models/wan_vae/memory_model.h"
#include "models/wan_vae/wan_vae.h"
#include "rss.h"

using namespace rayvid;
using namespace rayvid::models::wan_vae;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s VAE_DIR T H W [fp32|bf16] [TILE] [OVERLAP]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const int64_t t = std::stoll(argv[2]), h = std::stoll(argv[3]), w = std::stoll(argv[4]);
  const auto dtype = parse_dtype(argc > 5 ? argv[5] : "fp32");
  const int64_t tile = argc > 6 ? std::stoll(argv[6]) : 0;
  const int64_t overlap = argc > 7 ? std::stoll(argv[7]) : tile / 4;
  c10::InferenceMode guard;
  const auto vae = WanVAE::load(dir, c10::kCPU, dtype);
  const int64_t z = vae.config().z_dim;
  DecodeOptions options{.tiling = tile > 0 ? Tiling::kOn : Tiling::kOff};
  if (tile > 0) {
    options.tile_height = options.tile_width = tile;
    options.overlap_height = options.overlap_width = overlap;
  }
  vae.decode(at::randn({1, z, 2, 2, 2}), {.tiling = Tiling::kOff});  // page in weights, warm up
  at::manual_seed(0);
  const at::Tensor latent = at::randn({1, z, t, h, w});
  bench::reset_peak_rss();
  const uint64_t base = bench::rss_bytes();
  const auto start = std::chrono::steady_clock::now();
  const at::Tensor video = vae.decode(latent, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t peak = bench::peak_rss_bytes();
  const TilePlan plan = vae.plan_decode(latent.sizes().vec(), options);
  const auto est = estimate_decode_memory(vae.config(), 1, t, h, w, dtype, plan);
  std::printf(
      "%s\n",
      fmt::format("{{\"impl\": \"rayvid\", \"dtype\": \"{}\", \"latent\": [{}, {}, {}, {}], "
                  "\"video\": [{}, {}, {}], \"tile\": {}, \"overlap\": {}, \"threads\": {}, "
                  "\"seconds\": {:.3f}, \"baseline_rss\": {}, \"peak_rss\": {}, \"measured\": {}, "
                  "\"predicted\": {}, \"predicted_total\": {}, \"peak_layer\": \"{}\"}}",
                  dtype_label(dtype), z, t, h, w, video.size(2), video.size(3), video.size(4),
                  plan.tiled ? plan.tile_height : 0,
                  plan.tiled ? plan.tile_height - plan.stride_height : 0, at::get_num_threads(),
                  seconds, base, peak, peak - base, est.total() - est.weights, est.total(),
                  est.peak_layer)
          .c_str());
  return 0;
}
