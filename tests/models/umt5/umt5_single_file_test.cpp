// Single-file umT5 as ComfyUI ships it (scripts/reference/extra_umt5_file.py): transformers' T5
// names in one file with the SentencePiece model embedded, in fp32 and fp8_scaled. The config is
// detected from the shapes, the embedded tokenizer tokenizes as the folder's does, and the encoder
// output equals transformers' UMT5EncoderModel on the form's dequantized weights.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "models/umt5/single_file.h"
#include "models/umt5/text_encoder.h"
#include "rayvid/error.h"
#include "support/golden.h"
#include "support/test_env.h"

namespace rayvid::models::umt5 {
namespace {

struct Fixture {
  test::GoldenSet golden = test::GoldenSet::extra("umt5_file");
  std::filesystem::path file(const std::string& form) const {
    return golden.dir() / "files" / (form + ".safetensors");
  }
  std::filesystem::path folder(const std::string& component) const {
    return test::fixtures_dir() / "models" / "wan21_i2v" / component;
  }
};

void expect_form(const std::string& form) {
  const Fixture fx;
  const UMT5File file = open_umt5_file(fx.file(form));
  EXPECT_TRUE(file.embeds_tokenizer);
  const UMT5Config folder_config = UMT5Config::load(fx.folder("text_encoder"));
  EXPECT_EQ(file.config.to_json(), folder_config.to_json()) << form;
  const TextEncoder encoder = TextEncoder::assemble(embedded_tokenizer(file), file.config,
                                                    file.source, c10::kCPU, at::kFloat);
  const at::Tensor ids = fx.golden.tensor("golden.safetensors", "input_ids").to(at::kLong);
  const at::Tensor mask = fx.golden.tensor("golden.safetensors", "attention_mask").to(at::kLong);
  // encode_tokens zeroes rows past each prompt; the golden is transformers' raw last_hidden_state.
  const at::Tensor ref =
      fx.golden.tensor("golden.safetensors", "out." + form) * mask.unsqueeze(-1).to(at::kFloat);
  EXPECT_TRUE(test::close_to(encoder.encode_tokens(ids, mask), ref, 1e-6)) << form;
}

TEST(UMT5SingleFile, ComfyFp32) { expect_form("comfy_fp32"); }
TEST(UMT5SingleFile, ComfyFp8Scaled) { expect_form("comfy_fp8_scaled"); }

TEST(UMT5SingleFile, EmbeddedTokenizerTokenizesAsTheFolders) {
  const Fixture fx;
  const Tokenizer embedded = embedded_tokenizer(open_umt5_file(fx.file("comfy_fp32")));
  const Tokenizer folder = Tokenizer::load(fx.folder("tokenizer"));
  for (const char* prompt : {"a red fox runs through fresh snow", "Ein Fuchs läuft, 2 Mal!"}) {
    const auto a = embedded.encode({prompt}, 32), b = folder.encode({prompt}, 32);
    EXPECT_TRUE(at::equal(a.ids, b.ids)) << prompt;
    EXPECT_TRUE(at::equal(a.mask, b.mask)) << prompt;
  }
}

TEST(UMT5SingleFile, ADiTFileIsNotAnEncoder) {
  const auto dit =
      test::fixtures_dir() / "golden_extra" / "single_file" / "files" / "orig_fp32.safetensors";
  try {
    open_umt5_file(dit);
    FAIL() << "a DiT opened as umT5";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a umT5 encoder"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rayvid::models::umt5
