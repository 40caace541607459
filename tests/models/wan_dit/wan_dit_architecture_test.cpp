// The real Wan variants' architectures, without their weights: WanDiT built from each real
// transformer config with a ShapeOnlySource must ask for exactly the tensors (names and shapes)
// diffusers' WanTransformer3DModel has for that config (lists made on the meta device by
// scripts/reference/extra_wan_dit.py). Presets and shape-based detection must agree too.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "models/wan_dit/config.h"
#include "models/wan_dit/model.h"
#include "models/wan_dit/weights.h"
#include "wan_dit_fixtures.h"

namespace rayvid::models::wan_dit {
namespace {
namespace fs = std::filesystem;

struct MetaShapes {
  std::string variant;
  WanDiTConfig config;
  std::map<std::string, std::vector<int64_t>> tensors;
};

// The transformer lists of the harness (meta_shapes/) and of extra_wan_dit.py (FLF2V, VACE too).
std::vector<MetaShapes> load_meta_shapes() {
  std::vector<MetaShapes> result;
  for (const fs::path& dir :
       {test::fixtures_dir() / "meta_shapes", test_fixtures::extra_dir() / "meta_shapes"}) {
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".json") continue;
      const io::JsonFile file = io::JsonFile::load(entry.path());
      const std::string cls = file.json().at("config").value("_class_name", "");
      if (cls != "WanTransformer3DModel" && cls != "WanVACETransformer3DModel") continue;
      MetaShapes m;
      m.variant = entry.path().stem().string();
      m.config = WanDiTConfig::from_json(
          io::JsonFile::from_json(file.json().at("config"), entry.path().string() + ":config"));
      for (const auto& t : file.json().at("tensors"))
        m.tensors[t.at("name").get<std::string>()] = t.at("shape").get<std::vector<int64_t>>();
      result.push_back(std::move(m));
    }
  }
  return result;
}

TEST(WanDiTArchitecture, RealVariantsMatchDiffusersTensorLists) {
  const auto all = load_meta_shapes();
  // Every preset (the real variants) must have a diffusers tensor list with its config.
  for (const auto& preset : WanDiTConfig::preset_names()) {
    const WanDiTConfig config = WanDiTConfig::preset(preset);
    EXPECT_TRUE(
        std::any_of(all.begin(), all.end(), [&](const auto& m) { return m.config == config; }))
        << "no meta_shapes/*.json with the config of " << preset;
  }

  for (const auto& m : all) {
    SCOPED_TRACE(m.variant);
    // The tensor list itself, name by name and shape by shape.
    EXPECT_EQ(weight_shapes(m.config), m.tensors);
    // The model built from the real config against a checkpoint that only has those shapes:
    // strict loading throws on any missing, unexpected or wrong-shape tensor.
    const ShapeOnlySource source(m.tensors, m.variant);
    EXPECT_NO_THROW({
      const WanDiT model(m.config, source, WanDiTOptions{});
      EXPECT_EQ(model.weights().blocks.size(), static_cast<size_t>(m.config.num_layers));
      EXPECT_TRUE(model.weights().blocks.back().ffn_out.weight.is_meta());
    });
    // Detection from shapes alone gives the same architecture.
    EXPECT_EQ(WanDiTConfig::detect(source), m.config);
  }
}

TEST(WanDiTArchitecture, ParameterCountsMatchThePublishedModels) {
  // Counts from wan-family.md §1.3 (exact arithmetic from the layer shapes).
  const std::pair<const char*, int64_t> expected[] = {{"wan2.1-t2v-1.3b", 1'418'996'800},
                                                      {"wan2.1-t2v-14b", 14'288'491'584},
                                                      {"wan2.2-i2v-a14b", 14'288'901'184},
                                                      {"wan2.1-i2v-14b", 16'394'878'784},
                                                      {"wan2.2-ti2v-5b", 4'999'787'712}};
  for (const auto& [name, count] : expected) {
    int64_t total = 0;
    for (const auto& [tensor, shape] : weight_shapes(WanDiTConfig::preset(name))) {
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      total += n;
    }
    EXPECT_EQ(total, count) << name;
  }
}

TEST(WanDiTArchitecture, WrongShapesAndStrayTensorsAreAllReported) {
  auto shapes = weight_shapes(WanDiTConfig::preset("wan2.1-t2v-1.3b"));
  shapes["blocks.3.attn1.to_q.weight"] = {1536, 1535};
  shapes.erase("blocks.29.ffn.net.2.bias");
  shapes["blocks.0.attn1.extra.weight"] = {7};
  const ShapeOnlySource source(shapes, "broken.safetensors");
  try {
    WanDiT(WanDiTConfig::preset("wan2.1-t2v-1.3b"), source, WanDiTOptions{});
    FAIL() << "a checkpoint with wrong, missing and unexpected tensors loaded";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
    EXPECT_NE(message.find("3 problems"), std::string::npos) << message;
    EXPECT_NE(message.find("wrong shape for blocks.3.attn1.to_q.weight: expected [1536, 1536], "
                           "checkpoint has [1536, 1535]"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("missing blocks.29.ffn.net.2.bias"), std::string::npos) << message;
    EXPECT_NE(message.find("unexpected blocks.0.attn1.extra.weight"), std::string::npos) << message;
  }
}

TEST(WanDiTArchitecture, StrayNormAddedQIsIgnoredLikeDiffusers) {
  const WanDiTConfig config = WanDiTConfig::preset("wan2.1-i2v-14b");
  auto shapes = weight_shapes(config);
  for (int i = 0; i < config.num_layers; ++i)
    shapes[fmt::format("blocks.{}.attn2.norm_added_q.weight", i)] = {config.dim};
  EXPECT_NO_THROW(WanDiT(config, ShapeOnlySource(shapes, "old-conversion"), WanDiTOptions{}));
}

}  // namespace
}  // namespace rayvid::models::wan_dit
