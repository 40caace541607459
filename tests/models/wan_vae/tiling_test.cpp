// Spatial tiling: the streamed tiler against diffusers' enable_tiling() outputs (golden_extra/
// wan_vae, made by scripts/reference/extra_wan_vae.py), the blend arithmetic on its own, and
// the tiled-vs-untiled difference as PSNR on the tiny VAEs and on a smooth synthetic latent.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "models/wan_vae/tiling.h"
#include "models/wan_vae/wan_vae.h"
#include "support/golden.h"
#include "support/test_env.h"

namespace rayvid::models::wan_vae {
namespace {

// PSNR of `out` against `ref` for videos in [-1, 1] (peak-to-peak 2).
double psnr_db(const at::Tensor& out, const at::Tensor& ref) {
  const double mse = (out.to(at::kDouble) - ref.to(at::kDouble)).pow(2).mean().item<double>();
  return mse == 0 ? INFINITY : 10.0 * std::log10(4.0 / mse);
}

TEST(WanVAETiling, BlendRowsIsTheReferenceFormula) {
  const at::Tensor a = at::arange(24, at::kFloat).view({1, 1, 1, 6, 4});  // rows 0..5
  at::Tensor b = at::full({1, 1, 1, 5, 4}, 100.0f);
  blend_rows(a, b, 3);
  for (int64_t y = 0; y < 3; ++y) {
    const double w = y / 3.0;
    for (int64_t x = 0; x < 4; ++x) {
      EXPECT_FLOAT_EQ(b[0][0][0][y][x].item<float>(),
                      static_cast<float>(a[0][0][0][3 + y][x].item<float>() * (1 - w) + 100 * w));
    }
  }
  EXPECT_FLOAT_EQ(b[0][0][0][3][0].item<float>(), 100.0f);  // beyond the extent: untouched
  at::Tensor c = at::zeros({1, 1, 1, 2, 2});
  blend_cols(at::ones({1, 1, 1, 2, 1}), c, 8);  // extent limited by the narrower tile (1)
  EXPECT_FLOAT_EQ(c[0][0][0][0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(c[0][0][0][0][1].item<float>(), 0.0f);
}

// With a function that copies its tile (scale 1), blending equal overlaps returns the input.
TEST(WanVAETiling, IdentityTilesReassembleTheInput) {
  const at::Tensor input = at::randn({1, 2, 3, 23, 31});
  const TileAxis rows{8, 6, 6, 2, 23}, cols{8, 5, 5, 3, 31};
  const at::Tensor out =
      run_tiled(input, rows, cols, [](const at::Tensor& t) { return t.clone(); });
  EXPECT_TRUE(test::close_to(out, input, 1e-6));
  EXPECT_EQ(num_tiles(23, 6), 4);
  EXPECT_EQ(num_tiles(24, 6), 4);
}

class WanVAETiledGolden : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::fixtures_dir() / "golden_extra" / "wan_vae";
    // make_fixtures.py runs extra_wan_vae.py: a missing folder is a broken fixture set.
    ASSERT_TRUE(std::filesystem::exists(dir_ / "manifest.json"))
        << "no " << dir_ << ": run scripts/reference/make_fixtures.py";
    manifest_ = io::JsonFile::load(dir_ / "manifest.json").json();
  }
  at::Tensor tensor(const std::string& name) const {
    return io::WeightStore::open_file(dir_ / "vae_tiled.safetensors").tensor(name).clone();
  }
  std::filesystem::path dir_;
  nlohmann::json manifest_;
};

TEST_F(WanVAETiledGolden, MatchesDiffusersTiledAndUntiled) {
  int cases = 0;
  for (const auto& c : manifest_.at("cases")) {
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    const auto& p = c.at("params");
    const auto vae = WanVAE::load(test::fixtures_dir() / p.at("model_dir").get<std::string>(),
                                  c10::kCPU, at::kFloat);
    const int64_t tile = p.at("tile_sample_min"), overlap = p.at("overlap");
    const TileOptions tiled{.tiling = Tiling::kOn,
                            .tile_height = tile,
                            .tile_width = tile,
                            .overlap_height = overlap,
                            .overlap_width = overlap};
    const TileOptions untiled{.tiling = Tiling::kOff};
    const bool encode = c.at("kind") == "vae_encode_tiled";
    const at::Tensor in = tensor(c.at("inputs").at(encode ? "x" : "z"));
    const auto run = [&](const TileOptions& o) {
      return encode ? vae.encode(in, o) : vae.decode(in, o);
    };
    EXPECT_TRUE(encode ? vae.plan_encode(in.sizes().vec(), tiled).tiled
                       : vae.plan_decode(in.sizes().vec(), tiled).tiled);
    const at::Tensor out_tiled = run(tiled), out_untiled = run(untiled);
    const at::Tensor ref_tiled = tensor(c.at("outputs").at("tiled"));
    const at::Tensor ref_untiled = tensor(c.at("outputs").at("untiled"));
    std::printf(
        "  %s: tiled rel err vs diffusers tiled %.2e; untiled %.2e; tiled vs untiled: "
        "rayvid %s %.2f, diffusers %.2f\n",
        name.c_str(), test::relative_error(out_tiled, ref_tiled),
        test::relative_error(out_untiled, ref_untiled), encode ? "rel err" : "PSNR dB",
        encode ? test::relative_error(out_tiled, out_untiled) : psnr_db(out_tiled, out_untiled),
        encode ? test::relative_error(ref_tiled, ref_untiled) : psnr_db(ref_tiled, ref_untiled));
    EXPECT_TRUE(test::close_to(out_tiled, ref_tiled, 1e-4));
    EXPECT_TRUE(test::close_to(out_untiled, ref_untiled, 1e-4));
    ++cases;
  }
  EXPECT_EQ(cases, 4);
}

// Tiled vs untiled decode as PSNR, 80x96 pixels in 3x3 tiles of 48 px with 16 px overlap. The
// tiny VAEs have random weights, so a tile border changes the output as much as the receptive
// field reaches: the PSNR measures that, not a defect (diffusers' own tiled output differs from
// its untiled output by the same amount; WanVAETiledGolden prints both). Bounds: the measured
// value minus about 3 dB; a wrong blend or a misplaced tile loses far more.
TEST(WanVAETilingPSNR, TinyModelsAndSmoothLatent) {
  struct Case {
    const char* model;
    int64_t z, t, h, w, tile, overlap;
    bool smooth;
    double min_psnr_db;
  };
  const Case cases[] = {
      {"models/wan21_t2v/vae", 16, 2, 10, 12, 48, 16, false, 16.0},
      {"models/wan21_t2v/vae", 16, 2, 10, 12, 48, 16, true, 14.0},
      {"models/wan22_ti2v/vae", 48, 2, 5, 6, 48, 16, false, 14.0},
      {"models/wan22_ti2v/vae", 48, 2, 5, 6, 48, 16, true, 12.0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.model) + (c.smooth ? " smooth" : " random"));
    const auto vae = WanVAE::load(test::fixtures_dir() / c.model, c10::kCPU, at::kFloat);
    at::Tensor z;
    if (c.smooth) {
      // low-frequency field: a few sinusoids per channel, varying slowly in time
      const auto g = [](int64_t n) { return at::linspace(0, 1, n, at::kFloat); };
      const at::Tensor y = g(c.h).view({1, 1, 1, c.h, 1}), x = g(c.w).view({1, 1, 1, 1, c.w});
      const at::Tensor t = g(c.t).view({1, 1, c.t, 1, 1});
      const at::Tensor ch = at::arange(c.z, at::kFloat).view({1, c.z, 1, 1, 1});
      z = 1.5 * at::sin(3.0 * x + 2.0 * y + t + ch) * at::cos(2.0 * y - x + 0.5 * ch);
    } else {
      at::manual_seed(7);
      z = at::randn({1, c.z, c.t, c.h, c.w});
    }
    const at::Tensor untiled = vae.decode(z, {.tiling = Tiling::kOff});
    const at::Tensor tiled = vae.decode(z, {.tiling = Tiling::kOn,
                                            .tile_height = c.tile,
                                            .tile_width = c.tile,
                                            .overlap_height = c.overlap,
                                            .overlap_width = c.overlap});
    const double psnr = psnr_db(tiled, untiled);
    std::printf(
        "  %s %s latent [%ld,%ld,%ld,%ld] tile %ld overlap %ld: PSNR %.2f dB (bound %.0f)\n",
        c.model, c.smooth ? "smooth" : "random", c.z, c.t, c.h, c.w, c.tile, c.overlap, psnr,
        c.min_psnr_db);
    EXPECT_GE(psnr, c.min_psnr_db);
  }
}

}  // namespace
}  // namespace rayvid::models::wan_vae
