// The pipeline-side helpers: latent normalisation as diffusers' Wan pipelines write it, and the
// conversion of a decoded video to uint8 RGB frames as postprocess_video + export_to_video do.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "models/wan_vae/wan_vae.h"
#include "support/golden.h"
#include "support/test_env.h"

namespace rayvid::models::wan_vae {
namespace {

TEST(WanVAEHelpers, ToFramesMatchesDiffusersExport) {
  // [1, 3, 2, 1, 3]: frame 0 = (-1, 0, 1) per pixel column, frame 1 = out-of-range values
  const at::Tensor video = at::tensor({-1.0f, 0.0f, 1.0f, -2.0f, 0.5f, 2.0f,      // R
                                       0.0f, 0.0f, 0.0f, -0.999f, 0.999f, 0.25f,  // G
                                       1.0f, -1.0f, 0.1f, 0.0f, 0.0f, 0.0f})      // B
                               .view({3, 2, 1, 3})
                               .unsqueeze(0);
  const io::VideoFrames frames = to_frames(video);
  ASSERT_EQ(frames.num_frames, 2);
  ASSERT_EQ(frames.height, 1);
  ASSERT_EQ(frames.width, 3);
  ASSERT_EQ(frames.rgb.size(), 2u * 1 * 3 * 3);
  // (x * 0.5 + 0.5).clamp(0, 1) * 255, truncated as numpy's astype(uint8)
  const auto byte = [](float x) {
    const float v = std::min(std::max(x * 0.5f + 0.5f, 0.0f), 1.0f);
    return static_cast<uint8_t>(v * 255.0f);
  };
  const float* data = video.data_ptr<float>();
  for (int f = 0; f < 2; ++f) {
    for (int x = 0; x < 3; ++x) {
      for (int c = 0; c < 3; ++c) {
        EXPECT_EQ(frames.frame(f)[x * 3 + c], byte(data[(c * 2 + f) * 3 + x]))
            << "frame " << f << " x " << x << " channel " << c;
      }
    }
  }
  EXPECT_EQ(frames.frame(0)[0], 0);                                    // -1 -> 0
  EXPECT_EQ(frames.frame(0)[3], 127);                                  // 0 -> 127.5 -> 127
  EXPECT_EQ(frames.frame(0)[6], 255);                                  // 1 -> 255
  EXPECT_THROW(to_frames(at::zeros({2, 3, 1, 2, 2})), rayvid::Error);  // one video at a time
}

TEST(WanVAEHelpers, LatentNormalisationIsThePipelines) {
  const auto vae =
      WanVAE::load(test::fixtures_dir() / "models/wan22_ti2v/vae", c10::kCPU, at::kFloat);
  const auto& cfg = vae.config();
  const at::Tensor mu = at::randn({1, cfg.z_dim, 2, 3, 4});
  const at::Tensor z = vae.normalize_latents(mu);
  for (int64_t c : {0, 17, 47}) {
    // encode side: (mu - mean) * (1 / std) with fp32 constants
    const float mean = static_cast<float>(cfg.latents_mean[c]);
    const float inv_std = 1.0f / static_cast<float>(cfg.latents_std[c]);
    EXPECT_TRUE(test::close_to(z.select(1, c), (mu.select(1, c) - mean) * inv_std, 1e-7));
    // decode side: z / (1 / std) + mean
    EXPECT_TRUE(test::close_to(vae.denormalize_latents(z).select(1, c),
                               z.select(1, c) / inv_std + mean, 1e-7));
  }
  EXPECT_TRUE(test::close_to(vae.denormalize_latents(z), mu, 1e-6));
  EXPECT_EQ(vae.normalize_latents(mu.to(at::kBFloat16)).scalar_type(), at::kBFloat16);
}

TEST(WanVAEHelpers, BadInputsAreClearErrors) {
  const auto vae =
      WanVAE::load(test::fixtures_dir() / "models/wan21_t2v/vae", c10::kCPU, at::kFloat);
  const auto message = [&](auto&& call) -> std::string {
    try {
      call();
    } catch (const rayvid::Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message([&] {
              vae.decode(at::zeros({1, 48, 1, 2, 2}));
            }).find("[B, 16, T, h, w]"),
            std::string::npos);
  EXPECT_NE(message([&] {
              vae.encode(at::zeros({1, 3, 6, 16, 16}));
            }).find("1 + 4k frames"),
            std::string::npos);
  EXPECT_NE(message([&] {
              vae.encode(at::zeros({1, 3, 5, 12, 16}));
            }).find("divisible by 8"),
            std::string::npos);
  const TileOptions odd{.tiling = Tiling::kOn, .tile_height = 100, .tile_width = 100};
  EXPECT_NE(message([&] {
              vae.decode(at::zeros({1, 16, 1, 20, 20}), odd);
            }).find("multiples of the VAE's spatial factor 8"),
            std::string::npos);
}

}  // namespace
}  // namespace rayvid::models::wan_vae
