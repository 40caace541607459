// The REAL umT5-XXL architecture (Wan's text encoder) built from its config with shapes alone,
// checked name by name and shape by shape against transformers' UMT5EncoderModel on the meta
// device (<fixtures>/meta_shapes/umt5_xxl_encoder.json, written by the reference harness).
#include <gtest/gtest.h>

#include <map>

#include "io/json_file.h"
#include "models/umt5/text_encoder.h"
#include "models/weights.h"
#include "support/test_env.h"

namespace rayvid::models::umt5 {
namespace {

using Shapes = std::map<std::string, std::vector<int64_t>>;

struct MetaShapes {
  io::JsonFile config = io::JsonFile::from_json(nlohmann::json::object(), "");
  Shapes saved;    // what a checkpoint holds: tied aliases written once
  Shapes aliases;  // tied names (encoder.embed_tokens.weight -> shared.weight)
};

MetaShapes read_meta(const std::string& name) {
  const auto path = test::fixtures_dir() / "meta_shapes" / (name + ".json");
  const auto file = io::JsonFile::load(path);
  MetaShapes m;
  m.config = io::JsonFile::from_json(file.json().at("config"), path.string() + ": config");
  for (const auto& t : file.json().at("tensors")) {
    auto& dst = t.contains("tied_to") ? m.aliases : m.saved;
    dst[t.at("name")] = t.at("shape").get<std::vector<int64_t>>();
  }
  return m;
}

TEST(UMT5RealArchitecture, XXLNamesAndShapesMatchTransformers) {
  const auto meta = read_meta("umt5_xxl_encoder");
  const auto config = UMT5Config::from_json(meta.config);
  EXPECT_EQ(config.d_model, 4096);
  EXPECT_EQ(config.num_layers, 24);
  EXPECT_EQ(config.num_heads, 64);
  EXPECT_EQ(config.d_ff, 10240);
  EXPECT_EQ(config.vocab_size, 256384);
  EXPECT_TRUE(config.gated);
  ASSERT_EQ(meta.aliases.size(), 1u);
  EXPECT_EQ(meta.aliases.begin()->first, "encoder.embed_tokens.weight");

  // As the checkpoint files have it: shared.weight only.
  Shapes taken;
  build_umt5_encoder(config, ShapeOnlySource(meta.saved, "meta umt5-xxl"), at::kMeta, at::kBFloat16,
                     &taken);
  EXPECT_EQ(taken, meta.saved);

  // With the tied alias written too (some exporters do): both names accepted.
  Shapes all = meta.saved;
  all.insert(meta.aliases.begin(), meta.aliases.end());
  Shapes taken_all;
  build_umt5_encoder(config, ShapeOnlySource(all, "meta umt5-xxl + alias"), at::kMeta,
                     at::kBFloat16, &taken_all);
  EXPECT_EQ(taken_all, all);

  // With only the alias: also fine (the embedding is found under its other name).
  Shapes alias_only = meta.saved;
  alias_only.erase("shared.weight");
  alias_only.insert(meta.aliases.begin(), meta.aliases.end());
  EXPECT_NO_THROW(build_umt5_encoder(config, ShapeOnlySource(alias_only, "alias only"), at::kMeta,
                                     at::kBFloat16));

  int64_t params = 0;
  for (const auto& [name, shape] : meta.saved) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    params += n;
  }
  EXPECT_EQ(params, 5'680'910'336);  // 5.68 B: umT5-XXL encoder incl. the 256384 x 4096 embedding
}

TEST(UMT5RealArchitecture, SummaryNamesTheShape) {
  const auto s = UMT5Config::xxl().summary();
  EXPECT_NE(s.find("24 layers"), std::string::npos) << s;
  EXPECT_NE(s.find("d_model 4096"), std::string::npos) << s;
}

}  // namespace
}  // namespace rayvid::models::umt5
