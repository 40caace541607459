// The decode memory model on hand counts (real configs) and against the feature cache the tiny
// VAEs really hold after a decode.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "models/wan_vae/memory_model.h"
#include "models/wan_vae/wan_vae.h"
#include "support/test_env.h"

namespace rayvid::models::wan_vae {
namespace {

// Wan2.1 at 832x480 (latent 60x104): two cached frames at the input of every temporal conv.
// Channels x relative area (latent h*w = 1), stage by stage:
//   conv_in 16; mid 4 convs x 384; up0 6 convs x 384 + time_conv 384;
//   up1 (4x area) 192 + 384 + 4 x 384 + time_conv 384; up2 (16x) 6 x 192; up3 (64x) 6 x 96;
//   conv_out (64x) 96  ->  75,664 channel-areas, x 2 frames x 6240 x 4 bytes = 3.52 GiB
// (wan-family.md section 6.3: "2.1 decoder ~ 3.5 GiB @832x480").
TEST(WanVAEMemoryModel, Wan21CacheHandCount) {
  const int64_t hw = 60 * 104;
  const int64_t per_area = 16 + 4 * 384 + 6 * 384 + 384 + 4 * (192 + 384 + 4 * 384 + 384) +
                           16 * 6 * 192 + 64 * 6 * 96 + 64 * 96;
  EXPECT_EQ(per_area, 75664);
  const uint64_t expected = static_cast<uint64_t>(2) * per_area * hw * 4;
  EXPECT_EQ(decode_cache_bytes(WanVAEConfig::wan21(), 1, 60, 104, at::kFloat), expected);
  EXPECT_EQ(decode_cache_bytes(WanVAEConfig::wan21(), 1, 60, 104, at::kBFloat16), expected / 2);
  EXPECT_EQ(decode_cache_bytes(WanVAEConfig::wan21(), 2, 60, 104, at::kFloat), expected * 2);
}

// Wan2.2 at 1280x704 (latent 44x80): decoder dims 1024, 1024, 1024, 512, 256, no halving.
//   conv_in 48; mid 4 x 1024; up0 6 x 1024 + time_conv 1024; up1 (4x) 6 x 1024 + time_conv 1024;
//   up2 (16x) 1024 + 5 x 512; up3 (64x) 512 + 5 x 256; conv_out (64x) 256.
TEST(WanVAEMemoryModel, Wan22CacheHandCount) {
  const int64_t hw = 44 * 80;
  const int64_t per_area = 48 + 4 * 1024 + 7 * 1024 + 4 * 7 * 1024 + 16 * (1024 + 5 * 512) +
                           64 * (512 + 5 * 256) + 64 * 256;
  const uint64_t expected = static_cast<uint64_t>(2) * per_area * hw * 4;
  EXPECT_EQ(decode_cache_bytes(WanVAEConfig::wan22(), 1, 44, 80, at::kFloat), expected);
}

TEST(WanVAEMemoryModel, WeightsAndOutputHandCounts) {
  const TilePlan untiled;
  // Parameter counts of the real VAEs (diffusers, meta device; see architecture_test).
  const auto e21 =
      estimate_decode_memory(WanVAEConfig::wan21(), 1, 21, 60, 104, at::kFloat, untiled);
  EXPECT_EQ(e21.weights, uint64_t{126892531} * 4);
  const auto e22 =
      estimate_decode_memory(WanVAEConfig::wan22(), 1, 31, 44, 80, at::kBFloat16, untiled);
  EXPECT_EQ(e22.weights, uint64_t{704688668} * 2);
  // io: latent + output (untiled, chunks are unpatchified straight into the output)
  EXPECT_EQ(e21.io, uint64_t{16} * 21 * 60 * 104 * 4 + uint64_t{3} * 81 * 480 * 832 * 4);
  EXPECT_EQ(e22.io, uint64_t{48} * 31 * 44 * 80 * 2 + uint64_t{3} * 121 * 704 * 1280 * 2);
  EXPECT_EQ(e21.total(), e21.weights + e21.io + e21.feature_cache + e21.activations);
  EXPECT_FALSE(e21.peak_layer.empty());
}

TEST(WanVAEMemoryModel, TilingAndFramesBehave) {
  const auto cfg = WanVAEConfig::wan22();
  const TilePlan untiled;
  const TilePlan tiles{true, 256, 256, 192, 192};
  const auto full = estimate_decode_memory(cfg, 1, 31, 44, 80, at::kFloat, untiled);
  const auto tiled = estimate_decode_memory(cfg, 1, 31, 44, 80, at::kFloat, tiles);
  EXPECT_LT(tiled.activations, full.activations / 4);
  EXPECT_LT(tiled.feature_cache, full.feature_cache / 4);
  EXPECT_GT(tiled.io, full.io);  // one tile's output and the blend strips come on top
  // Working memory does not grow with frames; only the output does.
  const auto longer = estimate_decode_memory(cfg, 1, 61, 44, 80, at::kFloat, untiled);
  EXPECT_EQ(longer.activations, full.activations);
  EXPECT_EQ(longer.feature_cache, full.feature_cache);
  EXPECT_GT(longer.io, full.io);
}

// The model's cache count equals the bytes the FeatureCache holds after a real decode.
TEST(WanVAEMemoryModel, CacheCountMatchesARealDecode) {
  for (const char* dir : {"models/wan21_t2v/vae", "models/wan22_ti2v/vae"}) {
    SCOPED_TRACE(dir);
    const auto vae = WanVAE::load(test::fixtures_dir() / dir, c10::kCPU, at::kFloat);
    const int64_t h = 3, w = 5;
    vae.decode(at::randn({1, vae.config().z_dim, 3, h, w}), {.tiling = Tiling::kOff});
    EXPECT_EQ(vae.last_decode_cache_bytes(), decode_cache_bytes(vae.config(), 1, h, w, at::kFloat));
  }
}

TEST(WanVAEMemoryModel, AutoTilingFollowsTheBudget) {
  const auto vae =
      WanVAE::load(test::fixtures_dir() / "models/wan21_t2v/vae", c10::kCPU, at::kFloat);
  const std::vector<int64_t> shape = {1, 16, 21, 60, 104};
  const uint64_t need =
      estimate_decode_memory(vae.config(), 1, 21, 60, 104, at::kFloat, {}).total();
  EXPECT_FALSE(vae.plan_decode(shape, {.memory_budget_bytes = need}).tiled);
  const TilePlan plan = vae.plan_decode(shape, {.memory_budget_bytes = need / 2});
  ASSERT_TRUE(plan.tiled);
  const auto e = estimate_decode_memory(vae.config(), 1, 21, 60, 104, at::kFloat, plan);
  std::printf("  budget %lu: tile %ld stride %ld -> weights %lu io %lu cache %lu act %lu (%s)\n",
              static_cast<unsigned long>(need / 2), plan.tile_height, plan.stride_height,
              static_cast<unsigned long>(e.weights), static_cast<unsigned long>(e.io),
              static_cast<unsigned long>(e.feature_cache),
              static_cast<unsigned long>(e.activations), e.peak_layer.c_str());
  EXPECT_LE(estimate_decode_memory(vae.config(), 1, 21, 60, 104, at::kFloat, plan).total(),
            need / 2);
  EXPECT_EQ(plan.stride_height, plan.tile_height - plan.tile_height / 4);
}

}  // namespace
}  // namespace rayvid::models::wan_vae
