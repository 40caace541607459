// Original Wan checkpoints (Wan-AI/Wan2.x repos: `blocks.0.self_attn.q.weight`, `head.head.*`)
// load through the one translation table and give exactly the output of the diffusers-named
// checkpoint. The renaming below is written independently of src/models/wan_dit/weight_names.cpp
// (from the original WanModel module tree), so a wrong table entry fails here.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <regex>

#include "io/safetensors.h"
#include "models/wan_dit/model.h"
#include "models/wan_dit/weight_names.h"
#include "support/golden.h"
#include "wan_dit_fixtures.h"

namespace rayvid::models::wan_dit {
namespace {

// diffusers name -> original Wan name.
std::string to_original_name(const std::string& name) {
  static const std::pair<std::regex, std::string> kRules[] = {
      {std::regex(R"(^condition_embedder\.text_embedder\.linear_1\.)"), "text_embedding.0."},
      {std::regex(R"(^condition_embedder\.text_embedder\.linear_2\.)"), "text_embedding.2."},
      {std::regex(R"(^condition_embedder\.time_embedder\.linear_1\.)"), "time_embedding.0."},
      {std::regex(R"(^condition_embedder\.time_embedder\.linear_2\.)"), "time_embedding.2."},
      {std::regex(R"(^condition_embedder\.time_proj\.)"), "time_projection.1."},
      {std::regex(R"(^condition_embedder\.image_embedder\.norm1\.)"), "img_emb.proj.0."},
      {std::regex(R"(^condition_embedder\.image_embedder\.ff\.net\.0\.proj\.)"), "img_emb.proj.1."},
      {std::regex(R"(^condition_embedder\.image_embedder\.ff\.net\.2\.)"), "img_emb.proj.3."},
      {std::regex(R"(^condition_embedder\.image_embedder\.norm2\.)"), "img_emb.proj.4."},
      {std::regex(R"(^condition_embedder\.image_embedder\.pos_embed$)"), "img_emb.emb_pos"},
      {std::regex(R"(^proj_out\.)"), "head.head."},
      {std::regex(R"(^scale_shift_table$)"), "head.modulation"},
      {std::regex(R"(^(blocks\.\d+)\.scale_shift_table$)"), "$1.modulation"},
      {std::regex(R"(^(blocks\.\d+)\.attn1\.to_(q|k|v)\.)"), "$1.self_attn.$2."},
      {std::regex(R"(^(blocks\.\d+)\.attn1\.to_out\.0\.)"), "$1.self_attn.o."},
      {std::regex(R"(^(blocks\.\d+)\.attn1\.norm_(q|k)\.)"), "$1.self_attn.norm_$2."},
      {std::regex(R"(^(blocks\.\d+)\.attn2\.to_(q|k|v)\.)"), "$1.cross_attn.$2."},
      {std::regex(R"(^(blocks\.\d+)\.attn2\.to_out\.0\.)"), "$1.cross_attn.o."},
      {std::regex(R"(^(blocks\.\d+)\.attn2\.norm_(q|k)\.)"), "$1.cross_attn.norm_$2."},
      {std::regex(R"(^(blocks\.\d+)\.attn2\.add_k_proj\.)"), "$1.cross_attn.k_img."},
      {std::regex(R"(^(blocks\.\d+)\.attn2\.add_v_proj\.)"), "$1.cross_attn.v_img."},
      {std::regex(R"(^(blocks\.\d+)\.attn2\.norm_added_k\.)"), "$1.cross_attn.norm_k_img."},
      {std::regex(R"(^(blocks\.\d+)\.norm2\.)"), "$1.norm3."},
      {std::regex(R"(^(blocks\.\d+)\.ffn\.net\.0\.proj\.)"), "$1.ffn.0."},
      {std::regex(R"(^(blocks\.\d+)\.ffn\.net\.2\.)"), "$1.ffn.2."},
  };
  for (const auto& [pattern, replacement] : kRules)
    if (std::regex_search(name, pattern)) return std::regex_replace(name, pattern, replacement);
  return name;  // patch_embedding.* keeps its name
}

// A checkpoint whose tensors carry other names.
class RenamedSource : public WeightSource {
 public:
  explicit RenamedSource(const StoreSource& inner) : inner_(inner) {
    for (const auto& name : inner.names()) renamed_[to_original_name(name)] = name;
  }
  std::vector<std::string> names() const override {
    std::vector<std::string> names;
    for (const auto& [name, unused] : renamed_) names.push_back(name);
    return names;
  }
  std::optional<std::vector<int64_t>> shape(const std::string& name) const override {
    auto it = renamed_.find(name);
    return it == renamed_.end() ? std::nullopt : inner_.shape(it->second);
  }
  at::Tensor load(const std::string& name) const override { return inner_.load(renamed_.at(name)); }
  std::string label() const override { return "renamed " + inner_.label(); }

 private:
  const StoreSource& inner_;
  std::map<std::string, std::string> renamed_;
};

TEST(WanDiTNames, TableTranslatesOriginalNames) {
  const std::pair<const char*, const char*> cases[] = {
      {"blocks.0.self_attn.q.weight", "blocks.0.attn1.to_q.weight"},
      {"blocks.12.self_attn.o.bias", "blocks.12.attn1.to_out.0.bias"},
      {"blocks.3.cross_attn.norm_k_img.weight", "blocks.3.attn2.norm_added_k.weight"},
      {"blocks.39.norm3.weight", "blocks.39.norm2.weight"},
      {"blocks.7.modulation", "blocks.7.scale_shift_table"},
      {"blocks.1.ffn.2.weight", "blocks.1.ffn.net.2.weight"},
      {"head.head.weight", "proj_out.weight"},
      {"head.modulation", "scale_shift_table"},
      {"text_embedding.0.weight", "condition_embedder.text_embedder.linear_1.weight"},
      {"time_embedding.2.bias", "condition_embedder.time_embedder.linear_2.bias"},
      {"time_projection.1.weight", "condition_embedder.time_proj.weight"},
      {"img_emb.proj.3.weight", "condition_embedder.image_embedder.ff.net.2.weight"},
      {"img_emb.emb_pos", "condition_embedder.image_embedder.pos_embed"},
  };
  for (const auto& [original, diffusers] : cases)
    EXPECT_EQ(wan_original_to_diffusers(original).value_or("(none)"), diffusers) << original;
  // diffusers names and foreign names are not original names.
  for (const char* other : {"blocks.0.attn1.to_q.weight", "blocks.0.norm2.weight",
                            "proj_out.weight", "scale_shift_table", "patch_embedding.weight",
                            "blocks.x.norm3.weight", "blocks..modulation", "head.modulation.extra"})
    EXPECT_FALSE(wan_original_to_diffusers(other).has_value()) << other;
}

// Loads the tiny checkpoint twice, with diffusers names and renamed to original Wan names, and
// runs one golden case through both.
void expect_same_output_with_original_names(const std::string& family) {
  const auto dir = test_fixtures::tiny_model(family);
  const StoreSource diffusers_source(io::WeightStore::open_folder(dir), dir.string());
  const RenamedSource original_source(diffusers_source);
  const auto names = original_source.names();
  ASSERT_TRUE(is_wan_original_checkpoint(names));
  for (const char* expected : {"blocks.1.self_attn.norm_k.weight", "blocks.0.cross_attn.o.weight",
                               "blocks.0.norm3.bias", "head.head.weight", "time_projection.1.bias"})
    EXPECT_TRUE(std::count(names.begin(), names.end(), expected)) << expected;

  const WanDiTConfig config = WanDiTConfig::load(dir);
  const WanDiT reference(config, diffusers_source, WanDiTOptions{});
  const WanDiT translated(config, original_source, WanDiTOptions{});
  EXPECT_EQ(WanDiTConfig::detect(original_source, config.attention_head_dim()), config);

  const auto store =
      test_fixtures::GoldenDir(test_fixtures::extra_dir()).open(family + ".safetensors");
  const std::string base = "transformer.size_a.";
  const at::Tensor image = store.contains(base + "encoder_hidden_states_image")
                               ? store.tensor(base + "encoder_hidden_states_image")
                               : at::Tensor();
  const at::Tensor text = store.tensor(base + "encoder_hidden_states");
  const at::Tensor latents = store.tensor(base + "hidden_states");
  const at::Tensor timestep = store.tensor(base + "t613.timestep");
  const at::Tensor a = reference.forward(latents, timestep, reference.prepare_context(text, image));
  const at::Tensor b =
      translated.forward(latents, timestep, translated.prepare_context(text, image));
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_TRUE(test::close_to(b, store.tensor(base + "t613.output"), 1e-4));
}

TEST(WanDiTNames, OriginalNamedCheckpointGivesTheSameOutputT2V) {
  expect_same_output_with_original_names("wan21_t2v");
}

TEST(WanDiTNames, OriginalNamedCheckpointGivesTheSameOutputI2V) {
  expect_same_output_with_original_names("wan21_i2v");  // img_emb.*, k_img/v_img/norm_k_img
}

TEST(WanDiTNames, OriginalNamedCheckpointGivesTheSameOutputFLF2V) {
  expect_same_output_with_original_names("wan21_flf2v");  // img_emb.emb_pos
}

}  // namespace
}  // namespace rayvid::models::wan_dit
