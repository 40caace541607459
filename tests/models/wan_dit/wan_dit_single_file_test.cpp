// Single-file DiT checkpoints as users download them (scripts/reference/extra_single_file.py):
// the original Wan layout bare or under a wrapper prefix, fp32/fp16/bf16, Kijai's unscaled fp8,
// ComfyUI's fp8_scaled and its newer mixed-precision form. Each loads through CheckpointSource,
// the variant is detected from its shapes, and the output equals diffusers run with the form's
// dequantized weights; the lossless form equals the diffusers folder bit for bit. A scaled file
// missing a scale, and a layer in a format rayvid does not read, are refused.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "models/checkpoint_source.h"
#include "models/wan_dit/model.h"
#include "rayvid/error.h"
#include "support/golden.h"

namespace rayvid::models::wan_dit {
namespace {

const std::vector<std::string> kPrefixes = {"model.diffusion_model.", "diffusion_model.", "model."};

struct Fixture {
  test::GoldenSet golden = test::GoldenSet::extra("single_file");
  at::Tensor tensor(const std::string& name) const {
    return golden.tensor("golden.safetensors", name);
  }
  std::filesystem::path file(const std::string& form) const {
    return golden.dir() / "files" / (form + ".safetensors");
  }
  std::filesystem::path folder() const { return golden.dir() / "model" / "transformer"; }
  at::Tensor run(const WanDiT& dit) const {
    return dit.forward(tensor("hidden_states"), tensor("timestep"),
                       dit.prepare_context(tensor("encoder_hidden_states"),
                                           tensor("encoder_hidden_states_image")));
  }
};

void expect_form(const std::string& form, Fp8Scheme scheme, const std::string& prefix) {
  const Fixture fx;
  const CheckpointSource source = CheckpointSource::open(fx.file(form), kPrefixes);
  EXPECT_EQ(source.fp8_scheme(), scheme) << form;
  EXPECT_EQ(source.stripped_prefix(), prefix) << form;
  for (const auto& name : source.names()) {  // scales and markers are not model tensors
    EXPECT_EQ(name.find("scale"), std::string::npos) << name;
    EXPECT_EQ(name.find("comfy_quant"), std::string::npos) << name;
  }
  // Real Wan DiTs all have head_dim 128 (detect's default); the tiny one has 32.
  const WanDiTConfig folder_config = WanDiTConfig::load(fx.folder());
  const WanDiTConfig config = WanDiTConfig::detect(source, folder_config.attention_head_dim());
  EXPECT_EQ(config, folder_config) << form;
  const WanDiT dit(config, source, WanDiTOptions{});
  EXPECT_TRUE(test::close_to(fx.run(dit), fx.tensor("out." + form), 1e-6)) << form;
}

TEST(WanDiTSingleFile, OriginalFp32IsTheFolderBitForBit) {
  const Fixture fx;
  const CheckpointSource source = CheckpointSource::open(fx.file("orig_fp32"), kPrefixes);
  EXPECT_EQ(source.format(), "F32");
  const WanDiT from_folder = WanDiT::load(fx.folder(), WanDiTOptions{});
  const WanDiT from_file(WanDiTConfig::detect(source, from_folder.config().attention_head_dim()),
                         source, WanDiTOptions{});
  EXPECT_TRUE(at::equal(fx.run(from_file), fx.run(from_folder)));
  EXPECT_TRUE(test::close_to(fx.run(from_file), fx.tensor("out.orig_fp32"), 1e-6));
}

TEST(WanDiTSingleFile, ComfyBf16WithPrefix) {
  expect_form("comfy_bf16", Fp8Scheme::kNone, "model.diffusion_model.");
}
TEST(WanDiTSingleFile, OriginalFp16WithBarePrefix) {
  expect_form("orig_fp16", Fp8Scheme::kNone, "diffusion_model.");
}
TEST(WanDiTSingleFile, KijaiFp8Unscaled) {
  expect_form("kijai_fp8_e4m3fn", Fp8Scheme::kUnscaled, "");
}
TEST(WanDiTSingleFile, ComfyFp8ScaledLegacy) {
  expect_form("comfy_fp8_scaled", Fp8Scheme::kScaledLegacy, "model.diffusion_model.");
}
TEST(WanDiTSingleFile, ComfyFp8MixedPrecisionPerRowScales) {
  expect_form("comfy_fp8_mixed", Fp8Scheme::kScaledMixed, "");
}

TEST(WanDiTSingleFile, Fp8WeightKeepsItsStoredForm) {
  const Fixture fx;
  const CheckpointSource source = CheckpointSource::open(fx.file("comfy_fp8_mixed"), kPrefixes);
  const auto w = source.fp8_weight("blocks.0.self_attn.q.weight");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->data.scalar_type(), at::kFloat8_e4m3fn);
  EXPECT_EQ(w->scale.numel(), w->data.size(0));  // one scale per output row
  EXPECT_TRUE(at::equal(source.load("blocks.0.self_attn.q.weight"),
                        w->data.to(at::kFloat) * w->scale.reshape({-1, 1})));
  EXPECT_FALSE(source.fp8_weight("blocks.0.norm3.weight").has_value());  // kept in bf16
}

TEST(WanDiTSingleFile, ScaledFileMissingAScaleIsRefused) {
  const Fixture fx;
  const std::string missing = fx.golden.manifest().json().at("params").at("missing_scale");
  try {
    CheckpointSource::open(fx.file("broken_missing_scale"), kPrefixes);
    FAIL() << "a scaled fp8 file without one of its scales loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("white frames"), std::string::npos) << e.what();
  }
}

TEST(WanDiTSingleFile, UnreadQuantizationFormatIsRefused) {
  const Fixture fx;
  try {
    CheckpointSource::open(fx.file("refused_nvfp4"), kPrefixes);
    FAIL() << "an nvfp4 layer loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'nvfp4'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rayvid::models::wan_dit
