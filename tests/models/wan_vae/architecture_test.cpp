// The real Wan2.1 and Wan2.2 VAEs built from their configs with shapes only (ShapeOnlySource):
// every tensor name and shape must equal what diffusers builds from the same config on the meta
// device (<fixtures>/meta_shapes/wan2{1,2}_vae.json, scripts/reference/ref_meta_shapes.py).
// Also: config parsing, presets, validation messages and strict loading errors.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "models/wan_vae/wan_vae.h"
#include "rayvid/error.h"
#include "support/test_env.h"

namespace rayvid::models::wan_vae {
namespace {

struct MetaShapes {
  WanVAEConfig config;
  std::map<std::string, std::vector<int64_t>> tensors;
  int64_t num_params = 0;
};

MetaShapes load_meta(const std::string& file) {
  const auto json = io::JsonFile::load(test::fixtures_dir() / "meta_shapes" / file);
  MetaShapes m;
  m.config =
      WanVAEConfig::from_json(io::JsonFile::from_json(json.json().at("config"), file + ": config"));
  for (const auto& t : json.json().at("tensors")) {
    m.tensors[t.at("name")] = t.at("shape").get<std::vector<int64_t>>();
  }
  m.num_params = json.require<int64_t>("num_params");
  return m;
}

class RealVAEArchitecture : public ::testing::TestWithParam<std::string> {};

TEST_P(RealVAEArchitecture, NamesAndShapesMatchDiffusers) {
  const MetaShapes meta = load_meta(GetParam() + ".json");
  ShapeOnlySource source(meta.tensors, GetParam());
  const auto vae = WanVAE::from_source(meta.config, source, c10::kCPU, at::kFloat);
  EXPECT_EQ(vae.weight_shapes().size(), meta.tensors.size());
  EXPECT_EQ(vae.weight_shapes(), meta.tensors);  // strict loading already threw on any mismatch
  int64_t params = 0;
  for (const auto& [name, shape] : vae.weight_shapes()) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    params += n;
  }
  EXPECT_EQ(params, meta.num_params);
  EXPECT_EQ(vae.parameter_bytes(), static_cast<uint64_t>(meta.num_params) * 4);
}

TEST_P(RealVAEArchitecture, PresetEqualsTheHubConfig) {
  const MetaShapes meta = load_meta(GetParam() + ".json");
  const WanVAEConfig preset =
      GetParam() == "wan21_vae" ? WanVAEConfig::wan21() : WanVAEConfig::wan22();
  const WanVAEConfig& c = meta.config;
  EXPECT_EQ(preset.base_dim, c.base_dim);
  EXPECT_EQ(preset.decoder_base_dim, c.decoder_base_dim);
  EXPECT_EQ(preset.z_dim, c.z_dim);
  EXPECT_EQ(preset.dim_mult, c.dim_mult);
  EXPECT_EQ(preset.num_res_blocks, c.num_res_blocks);
  EXPECT_EQ(preset.temperal_downsample, c.temperal_downsample);
  EXPECT_EQ(preset.is_residual, c.is_residual);
  EXPECT_EQ(preset.in_channels, c.in_channels);
  EXPECT_EQ(preset.out_channels, c.out_channels);
  EXPECT_EQ(preset.patch_size, c.patch_size);
  EXPECT_EQ(preset.scale_factor_spatial, c.scale_factor_spatial);
  EXPECT_EQ(preset.latents_mean, c.latents_mean);
  EXPECT_EQ(preset.latents_std, c.latents_std);
}

TEST_P(RealVAEArchitecture, DetectFromShapesAlone) {
  const MetaShapes meta = load_meta(GetParam() + ".json");
  const WanVAEConfig d = WanVAEConfig::detect(meta.tensors);
  const WanVAEConfig& c = meta.config;
  EXPECT_EQ(d.base_dim, c.base_dim);
  EXPECT_EQ(d.decoder_base_dim, c.decoder_base_dim);
  EXPECT_EQ(d.z_dim, c.z_dim);
  EXPECT_EQ(d.dim_mult, c.dim_mult);
  EXPECT_EQ(d.num_res_blocks, c.num_res_blocks);
  EXPECT_EQ(d.temperal_downsample, c.temperal_downsample);
  EXPECT_EQ(d.is_residual, c.is_residual);
  EXPECT_EQ(d.in_channels, c.in_channels);
  EXPECT_EQ(d.out_channels, c.out_channels);
  EXPECT_EQ(d.patch_size, c.patch_size);
  EXPECT_EQ(d.scale_factor_spatial, c.scale_factor_spatial);
  EXPECT_EQ(d.latents_mean, c.latents_mean);
}

// A checkpoint with one missing, one wrong-shape and one unexpected tensor: one error naming all.
TEST_P(RealVAEArchitecture, StrictLoadingReportsEveryProblem) {
  MetaShapes meta = load_meta(GetParam() + ".json");
  meta.tensors.erase("decoder.conv_out.bias");
  meta.tensors["encoder.conv_in.weight"][1] += 1;
  meta.tensors["decoder.extra.weight"] = {1};
  ShapeOnlySource source(meta.tensors, "broken");
  try {
    WanVAE::from_source(meta.config, source, c10::kCPU, at::kFloat);
    FAIL() << "expected an error";
  } catch (const rayvid::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("missing decoder.conv_out.bias"), std::string::npos) << what;
    EXPECT_NE(what.find("wrong shape for encoder.conv_in.weight"), std::string::npos) << what;
    EXPECT_NE(what.find("unexpected decoder.extra.weight"), std::string::npos) << what;
  }
}

INSTANTIATE_TEST_SUITE_P(RealConfigs, RealVAEArchitecture,
                         ::testing::Values("wan21_vae", "wan22_vae"));

TEST(WanVAEConfig, DefaultsFollowDiffusers) {
  // An empty config is diffusers' AutoencoderKLWan() = the Wan2.1 VAE.
  const auto c = WanVAEConfig::from_json(io::JsonFile::from_json(nlohmann::json::object(), "t"));
  EXPECT_EQ(c.base_dim, 96);
  EXPECT_EQ(c.decoder_base_dim, 96);
  EXPECT_EQ(c.latents_mean, WanVAEConfig::wan21().latents_mean);
  EXPECT_EQ(c.patch_size, 1);  // null / absent: no patchify
  EXPECT_EQ(c.num_frames_latent(81), 21);
  EXPECT_EQ(c.num_frames_pixel(31), 121);
  // The hub's Wan2.2 file has a key diffusers 0.42 does not know; it is ignored there too.
  auto j = nlohmann::json::object();
  j["clip_output"] = false;
  j["patch_size"] = nullptr;
  EXPECT_NO_THROW(WanVAEConfig::from_json(io::JsonFile::from_json(j, "t")));
}

TEST(WanVAEConfig, ValidationNamesTheProblem) {
  const auto expect_error = [](nlohmann::json j, const std::string& needle) {
    try {
      WanVAEConfig::from_json(io::JsonFile::from_json(std::move(j), "vae/config.json"));
      ADD_FAILURE() << "no error for " << needle;
    } catch (const rayvid::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error({{"z_dim", 48}}, "latents_mean (16) and latents_std (16) must have z_dim = 48");
  expect_error({{"temperal_downsample", {true}}}, "temperal_downsample has 1 entries");
  expect_error({{"_class_name", "AutoencoderKL"}}, "expected 'AutoencoderKLWan'");
  expect_error({{"base_dim", "96"}}, "should be an integer");
  expect_error({{"scale_factor_spatial", 16}}, "scale_factor_spatial 16 does not match");
}

}  // namespace
}  // namespace rayvid::models::wan_vae
