// The reference fixtures are readable by rayvid: every tiny model folder loads through src/io with
// every tensor's shape consistent with its config.json, and every golden file holds exactly the
// tensors its manifest lists.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "io/json_file.h"
#include "io/safetensors.h"
#include "models/model_folder.h"
#include "support/test_env.h"

namespace rayvid {
namespace {
namespace fs = std::filesystem;

using Shape = std::vector<int64_t>;

// The number of distinct N in names like "<prefix>N.".
int count_indexed(const io::WeightStore& store, const std::string& prefix) {
  std::set<int> seen;
  const std::regex pattern("^" + std::regex_replace(prefix, std::regex(R"([.])"), R"(\.)") +
                           R"((\d+)\.)");
  for (const auto& name : store.names()) {
    std::smatch m;
    if (std::regex_search(name, m, pattern)) seen.insert(std::stoi(m[1]));
  }
  return static_cast<int>(seen.size());
}

void check_transformer(const models::ModelFolder& folder, const std::string& component) {
  const auto config = folder.component_config(component);
  const auto store = io::WeightStore::open_folder(folder.require(component).dir);
  const int64_t dim = config.require<int64_t>("num_attention_heads") *
                      config.require<int64_t>("attention_head_dim");
  const auto patch = config.require<Shape>("patch_size");
  EXPECT_EQ(store.info("patch_embedding.weight").shape,
            (Shape{dim, config.require<int64_t>("in_channels"), patch[0], patch[1], patch[2]}));
  EXPECT_EQ(store.info("proj_out.weight").shape,
            (Shape{config.require<int64_t>("out_channels") * patch[0] * patch[1] * patch[2], dim}));
  EXPECT_EQ(store.info("blocks.0.ffn.net.0.proj.weight").shape,
            (Shape{config.require<int64_t>("ffn_dim"), dim}));
  EXPECT_EQ(store.info("condition_embedder.text_embedder.linear_1.weight").shape,
            (Shape{dim, config.require<int64_t>("text_dim")}));
  EXPECT_EQ(count_indexed(store, "blocks."), config.require<int>("num_layers"));
  if (config.has("image_dim")) {
    EXPECT_TRUE(store.contains("blocks.0.attn2.add_k_proj.weight"));
  }
}

void check_text_encoder(const models::ModelFolder& folder) {
  const auto config = folder.component_config("text_encoder");
  const auto store = io::WeightStore::open_folder(folder.require("text_encoder").dir);
  EXPECT_EQ(store.info("shared.weight").shape,
            (Shape{config.require<int64_t>("vocab_size"), config.require<int64_t>("d_model")}));
  EXPECT_EQ(count_indexed(store, "encoder.block."), config.require<int>("num_layers"));
  // umT5: a relative-position table in every layer, not only the first.
  EXPECT_EQ(
      store.info("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight").shape,
      (Shape{config.require<int64_t>("relative_attention_num_buckets"),
             config.require<int64_t>("num_heads")}));
}

void check_vae(const models::ModelFolder& folder) {
  const auto config = folder.component_config("vae");
  const auto store = io::WeightStore::open_folder(folder.require("vae").dir);
  const int64_t z = config.require<int64_t>("z_dim");
  EXPECT_EQ(store.info("post_quant_conv.weight").shape, (Shape{z, z, 1, 1, 1}));
  EXPECT_EQ(store.info("quant_conv.weight").shape, (Shape{2 * z, 2 * z, 1, 1, 1}));
  EXPECT_EQ(config.require<std::vector<double>>("latents_mean").size(), static_cast<size_t>(z));
  EXPECT_EQ(config.require<std::vector<double>>("latents_std").size(), static_cast<size_t>(z));
}

void check_image_encoder(const models::ModelFolder& folder) {
  const auto config = folder.component_config("image_encoder");
  const auto store = io::WeightStore::open_folder(folder.require("image_encoder").dir);
  const auto& vision =
      config.json().contains("vision_config") ? config.json()["vision_config"] : config.json();
  const int64_t hidden = vision["hidden_size"], patch = vision["patch_size"];
  EXPECT_EQ(store.info("vision_model.embeddings.patch_embedding.weight").shape,
            (Shape{hidden, 3, patch, patch}));
  EXPECT_EQ(count_indexed(store, "vision_model.encoder.layers."),
            vision["num_hidden_layers"].get<int>());
}

TEST(Fixtures, EveryTinyModelFolderLoadsConsistentlyWithItsConfigs) {
  const std::vector<std::string> families = {"wan21_t2v", "wan21_i2v", "wan22_ti2v", "wan22_a14b"};
  for (const auto& family : families) {
    SCOPED_TRACE(family);
    const auto folder = models::ModelFolder::open(test::fixtures_dir() / "models" / family);
    check_transformer(folder, "transformer");
    if (folder.find("transformer_2")) check_transformer(folder, "transformer_2");
    check_text_encoder(folder);
    check_vae(folder);
    if (folder.find("image_encoder")) check_image_encoder(folder);
    EXPECT_TRUE(fs::is_regular_file(folder.require("tokenizer").dir / "spiece.model"));
    // Every tensor of every component maps into memory with its header's shape and dtype.
    for (const auto& c : folder.components()) {
      if (!fs::is_directory(c.dir) || c.name == "tokenizer" || c.name == "scheduler" ||
          c.name == "image_processor")
        continue;
      const auto store = io::WeightStore::open_folder(c.dir);
      for (const auto& name : store.names()) {
        const auto t = store.tensor(name);
        ASSERT_EQ(t.sizes().vec(), store.info(name).shape) << c.name << ": " << name;
      }
    }
  }
  const auto demo = models::ModelFolder::open(test::source_dir() / "models" / "rayvid-tiny-ti2v");
  check_transformer(demo, "transformer");
  check_vae(demo);
  EXPECT_EQ(models::detect_variant(demo).family, "wan2.2-ti2v");
}

TEST(Fixtures, EveryGoldenFileHoldsWhatItsManifestLists) {
  int files = 0;
  for (const auto& dir : fs::directory_iterator(test::fixtures_dir() / "golden")) {
    const auto manifest = io::JsonFile::load(dir.path() / "manifest.json");
    for (const auto& file : manifest.json()["files"]) {
      const auto store = io::WeightStore::open_file(dir.path() / file["file"].get<std::string>());
      std::set<std::string> listed;
      for (const auto& t : file["tensors"]) {
        const std::string name = t["name"];
        listed.insert(name);
        ASSERT_TRUE(store.contains(name)) << file["file"] << ": " << name;
        EXPECT_EQ(store.info(name).shape, t["shape"].get<Shape>()) << name;
        const std::string dtype(io::dtype_name(store.info(name).dtype));
        const std::string expected = t["dtype"] == "float32" ? "F32"
                                     : t["dtype"] == "int64" ? "I64"
                                                             : "U8";
        EXPECT_EQ(dtype, expected) << name;
      }
      EXPECT_EQ(listed.size(), store.size()) << "unlisted tensors in " << file["file"];
      ++files;
    }
  }
  EXPECT_GE(files, 8);
}

}  // namespace
}  // namespace rayvid
