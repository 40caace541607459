// umT5 text encoder parity with transformers' UMT5EncoderModel and diffusers'
// _get_t5_prompt_embeds on the tiny model (<fixtures>/golden/text_encoder/: 6 prompts incl. the
// empty one and one of exactly 512 tokens), fp32 and bf16, plus strict loading errors.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>

#include "core/device.h"
#include "io/safetensors.h"
#include "models/umt5/text_encoder.h"
#include "models/weights.h"
#include "rayvid/error.h"
#include "support/golden.h"
#include "support/test_env.h"

namespace rayvid::models::umt5 {
namespace {

namespace fs = std::filesystem;

fs::path model_dir() { return test::fixtures_dir() / "models" / "wan21_t2v"; }

std::vector<std::string> golden_prompts(const test::GoldenSet& golden) {
  std::vector<std::string> prompts;
  for (const auto& p : golden.manifest().json().at("params").at("prompts")) {
    prompts.push_back(p.at("raw"));
  }
  return prompts;
}

TEST(UMT5Parity, Fp32HiddenStatesAndPromptEmbeds) {
  test::GoldenSet golden("text_encoder");
  const auto enc = TextEncoder::load_from_model_folder(model_dir(), at::kCPU, at::kFloat);
  const auto ids = golden.tensor("text_encoder.safetensors", "input_ids").to(at::kLong);
  const auto mask = golden.tensor("text_encoder.safetensors", "attention_mask").to(at::kLong);
  ASSERT_GE(ids.size(0), 5);
  const auto hidden = enc.encoder().forward(ids, mask);
  const auto ref_hidden = golden.tensor("text_encoder.safetensors", "last_hidden_state");
  for (int64_t b = 0; b < ids.size(0); ++b) {
    std::cout << "[parity] umt5 fp32 prompt " << b << " (" << mask[b].sum().item<int64_t>()
              << " tokens): rel err " << test::relative_error(hidden[b], ref_hidden[b]) << "\n";
  }
  EXPECT_TRUE(test::close_to(hidden, ref_hidden, 1e-4));
  const auto embeds = enc.encode_tokens(ids, mask);
  const auto ref = golden.tensor("text_encoder.safetensors", "prompt_embeds");
  EXPECT_TRUE(test::close_to(embeds, ref, 1e-4));
  // Rows at and beyond each prompt's length are exactly zero, the rest are not.
  for (int64_t b = 0; b < ids.size(0); ++b) {
    const int64_t n = mask[b].sum().item<int64_t>();
    if (n < ids.size(1)) {
      EXPECT_EQ(embeds[b].slice(0, n).abs().max().item<float>(), 0.0f) << "prompt " << b;
    }
    EXPECT_GT(embeds[b][n - 1].abs().max().item<float>(), 0.0f) << "prompt " << b;
  }
}

TEST(UMT5Parity, PromptsEndToEnd) {
  // Raw prompt strings -> cleaning -> tokenizer -> encoder -> zeroed rows, as the pipeline does.
  test::GoldenSet golden("text_encoder");
  const auto enc = TextEncoder::load_from_model_folder(model_dir(), at::kCPU, at::kFloat);
  const auto prompts = golden_prompts(golden);
  const auto tokens = enc.tokenizer().encode(prompts, kWanMaxSequenceLength);
  EXPECT_TRUE(
      at::equal(tokens.ids, golden.tensor("text_encoder.safetensors", "input_ids").to(at::kLong)));
  EXPECT_TRUE(at::equal(tokens.mask,
                        golden.tensor("text_encoder.safetensors", "attention_mask").to(at::kLong)));
  const auto embeds = enc.encode(prompts);
  EXPECT_EQ(embeds.sizes(), (at::IntArrayRef{static_cast<int64_t>(prompts.size()), 512, 64}));
  EXPECT_TRUE(
      test::close_to(embeds, golden.tensor("text_encoder.safetensors", "prompt_embeds"), 1e-4));
}

TEST(UMT5Parity, Bf16) {
  test::GoldenSet golden("text_encoder");
  const auto enc = TextEncoder::load_from_model_folder(model_dir(), at::kCPU, at::kBFloat16);
  const auto ids = golden.tensor("text_encoder.safetensors", "input_ids").to(at::kLong);
  const auto mask = golden.tensor("text_encoder.safetensors", "attention_mask").to(at::kLong);
  const auto hidden = enc.encoder().forward(ids, mask);
  ASSERT_EQ(hidden.scalar_type(), at::kBFloat16);
  std::cout << "[parity] umt5 bf16: rel err vs ref bf16 "
            << test::relative_error(hidden.to(at::kFloat), golden.tensor("text_encoder.safetensors",
                                                                         "last_hidden_state_bf16"))
            << ", vs ref fp32 "
            << test::relative_error(hidden.to(at::kFloat),
                                    golden.tensor("text_encoder.safetensors", "last_hidden_state"))
            << "\n";
  EXPECT_TRUE(test::close_to(hidden.to(at::kFloat),
                             golden.tensor("text_encoder.safetensors", "last_hidden_state_bf16"),
                             1e-2));
  EXPECT_TRUE(test::close_to(hidden.to(at::kFloat),
                             golden.tensor("text_encoder.safetensors", "last_hidden_state"), 1e-2));
}

TEST(UMT5Parity, BatchRowsAreIndependent) {
  // Positive and negative prompts go through together: a row must not depend on its batch mates.
  test::GoldenSet golden("text_encoder");
  const auto enc = TextEncoder::load_from_model_folder(model_dir(), at::kCPU, at::kFloat);
  const auto prompts = golden_prompts(golden);
  const auto together = enc.encode(prompts);
  for (size_t i = 0; i < prompts.size(); i += 2) {
    EXPECT_TRUE(test::close_to(enc.encode({prompts[i]})[0], together[i], 1e-5)) << i;
  }
}

TEST(UMT5Parity, RunsOnCuda) {
  if (!cuda_available()) GTEST_SKIP() << "needs a GPU";
  test::GoldenSet golden("text_encoder");
  const auto enc = TextEncoder::load_from_model_folder(model_dir(), at::kCUDA, at::kFloat);
  const auto embeds = enc.encode(golden_prompts(golden));
  EXPECT_TRUE(embeds.is_cuda());
  EXPECT_TRUE(test::close_to(embeds.cpu(),
                             golden.tensor("text_encoder.safetensors", "prompt_embeds"), 1e-4));
}

TEST(UMT5Buckets, MatchT5Definition) {
  // Bidirectional, 32 buckets, max distance 128 (wan-family.md 4.1): exact below 8, log above.
  const auto b = relative_position_buckets(300, 32, 128, at::kCPU);
  auto at_rel = [&](int64_t rel) {
    return rel >= 0 ? b[0][rel].item<int64_t>() : b[-rel][0].item<int64_t>();
  };
  EXPECT_EQ(at_rel(0), 0);
  EXPECT_EQ(at_rel(-7), 7);
  EXPECT_EQ(at_rel(7), 16 + 7);
  EXPECT_EQ(at_rel(-8), 8);
  EXPECT_EQ(at_rel(-16), 8 + 2);  // 8 + floor(log(2)/log(16) * 8) = 10
  EXPECT_EQ(at_rel(-127), 15);
  EXPECT_EQ(at_rel(-299), 15);  // capped
  EXPECT_EQ(at_rel(299), 31);
}

// The tiny checkpoint's names and shapes with one tensor renamed or with a shorter first dim.
ShapeOnlySource broken_source(const std::string& name, bool reshape) {
  const auto store = io::WeightStore::open_folder(model_dir() / "text_encoder");
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& n : store.names()) shapes[n] = store.info(n).shape;
  auto shape = shapes.at(name);
  shapes.erase(name);
  if (reshape) {
    shape[0] -= 1;
    shapes[name] = shape;
  } else {
    shapes[name + ".renamed"] = shape;
  }
  return ShapeOnlySource(shapes, "broken text_encoder");
}

TEST(UMT5Loading, MissingAndWrongShapeTensorsAreReportedTogether) {
  const auto config = UMT5Config::load(model_dir() / "text_encoder");
  const std::string bias = "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight";
  try {
    build_umt5_encoder(config, broken_source(bias, false), at::kCPU, at::kFloat);
    ADD_FAILURE() << "no error for a missing tensor";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
    EXPECT_NE(msg.find("missing " + bias), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected " + bias + ".renamed"), std::string::npos) << msg;
  }
  const std::string wo = "encoder.block.0.layer.1.DenseReluDense.wo.weight";
  try {
    build_umt5_encoder(config, broken_source(wo, true), at::kCPU, at::kFloat);
    ADD_FAILURE() << "no error for a wrong shape";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("wrong shape for " + wo), std::string::npos) << e.what();
  }
}

TEST(UMT5Loading, BadConfigsAreClearErrors) {
  auto json = nlohmann::json::parse(std::ifstream(model_dir() / "text_encoder" / "config.json"));
  auto with = [&](const std::string& key, nlohmann::json value) {
    auto j = json;
    j[key] = value;
    return io::JsonFile::from_json(j, "text_encoder/config.json");
  };
  EXPECT_NO_THROW(UMT5Config::from_json(with("num_layers", 2)));
  EXPECT_THROW(UMT5Config::from_json(with("num_layers", 0)), Error);
  EXPECT_THROW(UMT5Config::from_json(with("d_model", "64")), Error);
  EXPECT_THROW(UMT5Config::from_json(with("feed_forward_proj", "gated-swish")), Error);
  EXPECT_THROW(UMT5Config::from_json(with("relative_attention_num_buckets", 3)), Error);
  auto no_vocab = json;
  no_vocab.erase("vocab_size");
  EXPECT_THROW(UMT5Config::from_json(io::JsonFile::from_json(no_vocab, "x")), Error);
  EXPECT_THROW(TextEncoder::load(model_dir() / "text_encoder", model_dir() / "tokenizer", at::kCPU,
                                 at::kHalf),
               Error);
}

}  // namespace
}  // namespace rayvid::models::umt5
