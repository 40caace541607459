// WanDiTConfig: both config.json dialects, presets, and validation messages.
#include <gtest/gtest.h>

#include "models/wan_dit/config.h"
#include "wan_dit_fixtures.h"

namespace rayvid::models::wan_dit {
namespace {

io::JsonFile json(const std::string& text) {
  return io::JsonFile::from_json(nlohmann::json::parse(text), "transformer/config.json");
}

std::string error_of(const std::string& text) {
  try {
    WanDiTConfig::from_json(json(text));
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
    return e.what();
  }
  return "(accepted)";
}

TEST(WanDiTConfig, ReadsDiffusersConfig) {
  const auto c = WanDiTConfig::from_json(json(R"({
    "_class_name": "WanTransformer3DModel", "added_kv_proj_dim": 5120, "attention_head_dim": 128,
    "cross_attn_norm": true, "eps": 1e-06, "ffn_dim": 13824, "freq_dim": 256, "image_dim": 1280,
    "in_channels": 36, "num_attention_heads": 40, "num_layers": 40, "out_channels": 16,
    "patch_size": [1, 2, 2], "qk_norm": "rms_norm_across_heads", "rope_max_seq_len": 1024,
    "text_dim": 4096})"));
  EXPECT_EQ(c, WanDiTConfig::preset("wan2.1-i2v-14b"));
  EXPECT_EQ(c.attention_head_dim(), 128);
}

TEST(WanDiTConfig, ReadsOriginalWanConfig) {
  const auto c = WanDiTConfig::from_json(json(R"({
    "_class_name": "WanModel", "_diffusers_version": "0.30.0", "dim": 1536, "eps": 1e-06,
    "ffn_dim": 8960, "freq_dim": 256, "in_dim": 16, "model_type": "t2v", "num_heads": 12,
    "num_layers": 30, "out_dim": 16, "text_len": 512})"));
  EXPECT_EQ(c, WanDiTConfig::preset("wan2.1-t2v-1.3b"));
  const auto flf = WanDiTConfig::from_json(json(R"({"dim": 5120, "ffn_dim": 13824, "in_dim": 36,
    "model_type": "flf2v", "num_heads": 40, "num_layers": 40, "out_dim": 16})"));
  EXPECT_EQ(flf, WanDiTConfig::preset("wan2.1-flf2v-14b"));
}

TEST(WanDiTConfig, OutChannelsDefaultToInChannels) {
  const auto c = WanDiTConfig::from_json(json(R"({"in_channels": 48, "out_channels": null})"));
  EXPECT_EQ(c.out_channels, 48);
}

TEST(WanDiTConfig, ValidationNamesTheProblem) {
  EXPECT_NE(error_of(R"({"dim": 5120, "num_heads": 24, "ffn_dim": 13824, "in_dim": 16,
                         "out_dim": 16, "num_layers": 40})")
                .find("dim 5120 is not divisible by num_attention_heads 24"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"attention_head_dim": 5})").find("attention_head_dim 5 must be even"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"image_dim": 1280})")
                .find("image_dim and added_kv_proj_dim must be set together"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"image_dim": 1280, "added_kv_proj_dim": 1024})")
                .find("added_kv_proj_dim 1024 must equal dim 5120"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"num_layers": 0})").find("num_layers is 0; it must be within 1..1024"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"patch_size": [1, 2]})").find("patch_size should have 3 entries"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"num_layers": "forty"})").find("'num_layers' should be an integer"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"pos_embed_seq_len": 514})").find("pos_embed_seq_len needs image_dim"),
            std::string::npos);
}

TEST(WanDiTConfig, PresetsAreValidAndUnknownOnesRefused) {
  for (const auto& name : WanDiTConfig::preset_names())
    EXPECT_NO_THROW(WanDiTConfig::preset(name).validate());
  EXPECT_EQ(WanDiTConfig::preset("wan2.2-ti2v-5b").summary(),
            "dim 3072, 30 layers, 24 heads, ffn 14336, in 48, out 48");
  try {
    WanDiTConfig::preset("wan3-t2v");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("wan2.1-t2v-1.3b"), std::string::npos);
  }
}

TEST(WanDiTConfig, TinyFixtureConfigsLoad) {
  for (const char* family : {"wan21_t2v", "wan21_i2v", "wan21_flf2v", "wan22_ti2v"}) {
    const auto c = WanDiTConfig::load(test_fixtures::tiny_model(family));
    EXPECT_EQ(c.dim, 96) << family;
    EXPECT_EQ(c.num_attention_heads, 3) << family;
  }
}

}  // namespace
}  // namespace rayvid::models::wan_dit
