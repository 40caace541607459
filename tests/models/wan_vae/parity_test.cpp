// WanVAE against diffusers' AutoencoderKLWan on the tiny Wan2.1 and Wan2.2 VAEs of the fixtures:
// raw encode (posterior mean) and decode (clamped video), fp32 and bf16, at two non-square
// sizes and 1 and several latent frames (golden/vae21, golden/vae22; made by
// scripts/reference/make_fixtures.py).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "models/wan_vae/wan_vae.h"
#include "support/golden.h"
#include "support/test_env.h"

namespace rayvid::models::wan_vae {
namespace {

constexpr double kFp32Tolerance = 1e-4;
constexpr double kBf16Tolerance = 1e-2;

class WanVAEParity : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    golden_ = std::make_unique<test::GoldenSet>(GetParam());
    const auto dirs = golden_->manifest().json().at("params").at("model_dirs");
    vae_dir_ = test::fixtures_dir() / dirs.at(0).get<std::string>() / "vae";
  }
  at::Tensor tensor(const std::string& name) const {
    return golden_->tensor("vae.safetensors", name);
  }
  std::unique_ptr<test::GoldenSet> golden_;
  std::filesystem::path vae_dir_;
};

TEST_P(WanVAEParity, EncodeMatchesDiffusers) {
  const auto fp32 = WanVAE::load(vae_dir_, c10::kCPU, at::kFloat);
  const auto bf16 = WanVAE::load(vae_dir_, c10::kCPU, at::kBFloat16);
  const EncodeOptions untiled{.tiling = Tiling::kOff};
  int cases = 0;
  for (const auto& c : golden_->manifest().json().at("cases")) {
    if (c.at("kind") != "vae_encode") continue;
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    const at::Tensor x = tensor(c.at("inputs").at("x"));
    const at::Tensor mean = fp32.encode(x, untiled);
    const at::Tensor mean16 = bf16.encode(x, untiled);
    std::printf("  %s %s encode: fp32 rel err %.2e, bf16 rel err %.2e\n", GetParam().c_str(),
                name.c_str(), test::relative_error(mean, tensor(c.at("outputs").at("mean"))),
                test::relative_error(mean16, tensor(c.at("outputs").at("mean_bf16"))));
    EXPECT_TRUE(test::close_to(mean, tensor(c.at("outputs").at("mean")), kFp32Tolerance));
    EXPECT_EQ(mean16.scalar_type(), at::kBFloat16);
    EXPECT_TRUE(test::close_to(mean16.to(at::kFloat), tensor(c.at("outputs").at("mean_bf16")),
                               kBf16Tolerance));
    ++cases;
  }
  EXPECT_GE(cases, 3);
}

TEST_P(WanVAEParity, DecodeMatchesDiffusers) {
  const auto fp32 = WanVAE::load(vae_dir_, c10::kCPU, at::kFloat);
  const auto bf16 = WanVAE::load(vae_dir_, c10::kCPU, at::kBFloat16);
  const DecodeOptions untiled{.tiling = Tiling::kOff};
  int cases = 0;
  for (const auto& c : golden_->manifest().json().at("cases")) {
    if (c.at("kind") != "vae_decode") continue;
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    const at::Tensor z = tensor(c.at("inputs").at("z"));
    const at::Tensor video = fp32.decode(z, untiled);
    const at::Tensor video16 = bf16.decode(z, untiled);
    std::printf("  %s %s decode: fp32 rel err %.2e, bf16 rel err %.2e\n", GetParam().c_str(),
                name.c_str(), test::relative_error(video, tensor(c.at("outputs").at("output"))),
                test::relative_error(video16, tensor(c.at("outputs").at("output_bf16"))));
    EXPECT_TRUE(test::close_to(video, tensor(c.at("outputs").at("output")), kFp32Tolerance));
    EXPECT_EQ(video16.scalar_type(), at::kBFloat16);
    EXPECT_TRUE(test::close_to(video16.to(at::kFloat), tensor(c.at("outputs").at("output_bf16")),
                               kBf16Tolerance));
    ++cases;
  }
  EXPECT_GE(cases, 3);
}

// The default (kAuto) on a tiny input decides not to tile, so it equals the reference too.
TEST_P(WanVAEParity, AutoTilingKeepsSmallInputsUntiled) {
  const auto vae = WanVAE::load(vae_dir_, c10::kCPU, at::kFloat);
  const at::Tensor z = tensor("decode.a_t3.input");
  EXPECT_FALSE(vae.plan_decode(z.sizes().vec(), {}).tiled);
  EXPECT_TRUE(test::close_to(vae.decode(z), tensor("decode.a_t3.output"), kFp32Tolerance));
}

INSTANTIATE_TEST_SUITE_P(TinyVAEs, WanVAEParity, ::testing::Values("vae21", "vae22"));

}  // namespace
}  // namespace rayvid::models::wan_vae
