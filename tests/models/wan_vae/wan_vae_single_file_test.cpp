// The Wan2.1 and Wan2.2 VAEs as single files in their original Wan layouts
// (scripts/reference/extra_vae_file.py; diffusers' own converter certifies the Wan2.1 names, the
// module tree of Wan2.2's vae2_2.py the Wan2.2 ones): the architecture is detected from the
// shapes, the fp32 files decode and encode exactly as the diffusers folders do, the bf16 / fp16
// files as diffusers does with their weights, and a file of something else is refused.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "models/wan_vae/single_file.h"
#include "models/wan_vae/wan_vae.h"
#include "rayvid/error.h"
#include "support/golden.h"
#include "support/test_env.h"

namespace rayvid::models::wan_vae {
namespace {

struct Fixture {
  test::GoldenSet golden = test::GoldenSet::extra("vae_file");
  std::filesystem::path file(const std::string& form) const {
    return golden.dir() / "files" / (form + ".safetensors");
  }
  std::filesystem::path folder() const {
    return test::fixtures_dir() / "models" / "wan21_i2v" / "vae";
  }
  at::Tensor tensor(const std::string& name) const {
    return golden.tensor("golden.safetensors", name);
  }
};

TEST(WanVAESingleFile, NamesAreTranslatedOnTheDecoderStageGrid) {
  // Wan2.1: 3 decoder resnets per stage, the stage's upsampler 4th.
  const std::pair<const char*, const char*> cases[] = {
      {"conv1.weight", "quant_conv.weight"},
      {"decoder.upsamples.4.shortcut.weight", "decoder.up_blocks.1.resnets.0.conv_shortcut.weight"},
      {"decoder.upsamples.7.resample.1.bias", "decoder.up_blocks.1.upsamplers.0.resample.1.bias"},
      {"decoder.upsamples.14.residual.6.weight", "decoder.up_blocks.3.resnets.2.conv2.weight"},
      {"encoder.downsamples.2.time_conv.bias", "encoder.down_blocks.2.time_conv.bias"},
      {"encoder.middle.2.residual.3.gamma", "encoder.mid_block.resnets.1.norm2.gamma"},
      {"decoder.middle.1.to_qkv.weight", "decoder.mid_block.attentions.0.to_qkv.weight"},
      {"decoder.head.0.gamma", "decoder.norm_out.gamma"}};
  for (const auto& [original, diffusers] : cases)
    EXPECT_EQ(wan_vae_original_to_diffusers(original, 3).value_or("(none)"), diffusers);
  EXPECT_FALSE(wan_vae_original_to_diffusers("decoder.upsamples.3.residual.0.gamma", 3));
}

TEST(WanVAESingleFile, Wan22NamesCarryTheirStage) {
  // Wan2.2: stage N's Sequential holds its resnets, then its resample; no count is needed.
  const std::pair<const char*, const char*> cases[] = {
      {"encoder.downsamples.1.downsamples.0.residual.2.weight",
       "encoder.down_blocks.1.resnets.0.conv1.weight"},
      {"encoder.downsamples.0.downsamples.1.shortcut.bias",
       "encoder.down_blocks.0.resnets.1.conv_shortcut.bias"},
      {"encoder.downsamples.2.downsamples.2.time_conv.weight",
       "encoder.down_blocks.2.downsampler.time_conv.weight"},
      {"decoder.upsamples.0.upsamples.2.residual.3.gamma",
       "decoder.up_blocks.0.resnets.2.norm2.gamma"},
      {"decoder.upsamples.1.upsamples.3.resample.1.weight",
       "decoder.up_blocks.1.upsampler.resample.1.weight"},
      {"decoder.middle.0.residual.6.bias", "decoder.mid_block.resnets.0.conv2.bias"},
      {"conv2.weight", "post_quant_conv.weight"}};
  for (const auto& [original, diffusers] : cases)
    EXPECT_EQ(wan_vae_original_to_diffusers(original, 0).value_or("(none)"), diffusers);
  // The encoder's stages are `downsamples`, the decoder's `upsamples`; a mix is no Wan VAE.
  EXPECT_FALSE(
      wan_vae_original_to_diffusers("encoder.upsamples.0.upsamples.0.residual.0.gamma", 0));
  EXPECT_FALSE(wan_vae_original_to_diffusers("decoder.upsamples.0.upsamples.0.avg_shortcut.w", 0));
}

TEST(WanVAESingleFile, Fp32FileIsTheFolderExactly) {
  const Fixture fx;
  const VAEFile file = VAEFile::open(fx.file("orig_fp32"));
  EXPECT_TRUE(file.original_layout());
  const WanVAE folder = WanVAE::load(fx.folder(), c10::kCPU, at::kFloat);
  const WanVAEConfig& want = folder.config();
  const WanVAEConfig& got = file.config();
  EXPECT_EQ(got.base_dim, want.base_dim);
  EXPECT_EQ(got.dim_mult, want.dim_mult);
  EXPECT_EQ(got.num_res_blocks, want.num_res_blocks);
  EXPECT_EQ(got.temperal_downsample, want.temperal_downsample);
  EXPECT_EQ(got.z_dim, want.z_dim);
  const WanVAE from_file = WanVAE::from_source(got, file, c10::kCPU, at::kFloat);
  EXPECT_TRUE(at::equal(from_file.decode(fx.tensor("latent")), folder.decode(fx.tensor("latent"))));
  EXPECT_TRUE(at::equal(from_file.encode(fx.tensor("video")), folder.encode(fx.tensor("video"))));
  EXPECT_TRUE(
      test::close_to(from_file.decode(fx.tensor("latent")), fx.tensor("decode.orig_fp32"), 1e-5));
}

TEST(WanVAESingleFile, Bf16FileAsDiffusersWithItsWeights) {
  const Fixture fx;
  const VAEFile file = VAEFile::open(fx.file("orig_bf16"));
  const WanVAE vae = WanVAE::from_source(file.config(), file, c10::kCPU, at::kFloat);
  EXPECT_TRUE(test::close_to(vae.decode(fx.tensor("latent")), fx.tensor("decode.orig_bf16"), 1e-5));
  EXPECT_TRUE(test::close_to(vae.encode(fx.tensor("video")), fx.tensor("encode.orig_bf16"), 1e-5));
}

std::filesystem::path wan22_folder() {
  return test::fixtures_dir() / "models" / "wan22_ti2v" / "vae";
}

TEST(WanVAESingleFile, Wan22Fp32FileIsTheFolderExactly) {
  const Fixture fx;
  const VAEFile file = VAEFile::open(fx.file("orig22_fp32"));
  EXPECT_TRUE(file.original_layout());
  const WanVAE folder = WanVAE::load(wan22_folder(), c10::kCPU, at::kFloat);
  const WanVAEConfig& want = folder.config();
  const WanVAEConfig& got = file.config();
  EXPECT_TRUE(got.is_residual);
  EXPECT_EQ(got.base_dim, want.base_dim);
  EXPECT_EQ(got.decoder_base_dim, want.decoder_base_dim);
  EXPECT_EQ(got.dim_mult, want.dim_mult);
  EXPECT_EQ(got.num_res_blocks, want.num_res_blocks);
  EXPECT_EQ(got.temperal_downsample, want.temperal_downsample);
  EXPECT_EQ(got.z_dim, want.z_dim);
  EXPECT_EQ(got.patch_size, want.patch_size);
  EXPECT_EQ(got.scale_factor_spatial, want.scale_factor_spatial);
  EXPECT_EQ(got.latents_mean, want.latents_mean);  // Wan2.2's published statistics
  const WanVAE from_file = WanVAE::from_source(got, file, c10::kCPU, at::kFloat);
  const at::Tensor latent = fx.tensor("latent22"), video = fx.tensor("video22");
  EXPECT_TRUE(at::equal(from_file.decode(latent), folder.decode(latent)));
  EXPECT_TRUE(at::equal(from_file.encode(video), folder.encode(video)));
  EXPECT_TRUE(test::close_to(from_file.decode(latent), fx.tensor("decode.orig22_fp32"), 1e-5));
  EXPECT_TRUE(test::close_to(from_file.encode(video), fx.tensor("encode.orig22_fp32"), 1e-5));
}

TEST(WanVAESingleFile, Wan22Fp16FileAsDiffusersWithItsWeights) {
  const Fixture fx;
  const VAEFile file = VAEFile::open(fx.file("orig22_fp16"));
  const WanVAE vae = WanVAE::from_source(file.config(), file, c10::kCPU, at::kFloat);
  EXPECT_TRUE(
      test::close_to(vae.decode(fx.tensor("latent22")), fx.tensor("decode.orig22_fp16"), 1e-5));
  EXPECT_TRUE(
      test::close_to(vae.encode(fx.tensor("video22")), fx.tensor("encode.orig22_fp16"), 1e-5));
  // fp16 rounding is visible against the fp32 weights: the golden is of this file's weights.
  EXPECT_FALSE(
      test::close_to(vae.decode(fx.tensor("latent22")), fx.tensor("decode.orig22_fp32"), 1e-7));
}

TEST(WanVAESingleFile, SomethingElseIsRefused) {
  const auto dit =
      test::fixtures_dir() / "golden_extra" / "single_file" / "files" / "orig_fp32.safetensors";
  try {
    VAEFile::open(dit);
    FAIL() << "a DiT opened as a VAE";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a Wan VAE"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rayvid::models::wan_vae
