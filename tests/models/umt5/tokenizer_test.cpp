// The umT5 tokenizer and prompt cleaning against transformers' T5Tokenizer run exactly as the
// diffusers Wan pipeline runs it (goldens: <fixtures>/tokenizer/, made by the reference harness
// from the pinned transformers 5.23 / ftfy 6.3.1, and <fixtures>/golden_extra/encoders/).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "io/json_file.h"
#include "io/safetensors.h"
#include "models/umt5/prompt_clean.h"
#include "models/umt5/tokenizer.h"
#include "models/umt5/utf8.h"
#include "rayvid/error.h"
#include "support/test_env.h"

namespace rayvid::models::umt5 {
namespace {

namespace fs = std::filesystem;

struct Entry {
  std::string name, group, raw, cleaned, after_ftfy;
  int64_t row = 0;
};

class TokenizerGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::fixtures_dir() / "tokenizer";
    ASSERT_TRUE(fs::exists(dir_ / "manifest.json"))
        << dir_ << " is missing: run scripts/reference/make_fixtures.py (scripts/test does)";
    tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::load(dir_));
    manifest_ = std::make_unique<io::JsonFile>(io::JsonFile::load(dir_ / "manifest.json"));
  }
  static void TearDownTestSuite() {
    tokenizer_.reset();
    manifest_.reset();
  }

  static std::vector<Entry> entries(const std::string& group) {
    std::vector<Entry> out;
    for (const auto& e : manifest_->json().at("entries")) {
      if (e.at("group") != group) continue;
      out.push_back({e.at("name"), e.at("group"), e.at("raw"), e.at("cleaned"),
                     e.value("after_ftfy", std::string()), e.at("row")});
    }
    return out;
  }

  // Every string of `group` through the C++ pipeline == transformers' ids and mask, row by row.
  static void check_group(const std::string& group) {
    const auto items = entries(group);
    ASSERT_FALSE(items.empty());
    std::vector<std::string> prompts;
    for (const auto& e : items) prompts.push_back(e.raw);
    const auto store = io::WeightStore::open_file(dir_ / "tokens.safetensors");
    const auto ref_ids = store.tensor("ids." + group);
    const auto ref_mask = store.tensor("mask." + group);
    const int64_t max_len = manifest_->json().at("params").at("max_sequence_length");
    const auto tokens = tokenizer_->encode(prompts, max_len);
    int mismatches = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      const auto& e = items[i];
      EXPECT_EQ(encode_utf8(decode_utf8(clean_prompt(e.raw))), e.cleaned) << e.name;
      const bool same =
          at::equal(tokens.ids[i], ref_ids[e.row]) && at::equal(tokens.mask[i], ref_mask[e.row]);
      if (!same && ++mismatches <= 5) {
        ADD_FAILURE() << e.name << ": ids differ from transformers\n  raw: " << e.raw
                      << "\n  ours:  " << tokens.ids[i].slice(0, 0, 40)
                      << "\n  theirs: " << ref_ids[e.row].slice(0, 0, 40);
      }
    }
    EXPECT_EQ(mismatches, 0) << "of " << items.size() << " " << group << " strings";
  }

  static fs::path dir_;
  static std::unique_ptr<Tokenizer> tokenizer_;
  static std::unique_ptr<io::JsonFile> manifest_;
};
fs::path TokenizerGolden::dir_;
std::unique_ptr<Tokenizer> TokenizerGolden::tokenizer_;
std::unique_ptr<io::JsonFile> TokenizerGolden::manifest_;

TEST_F(TokenizerGolden, CorpusIdsEqualTransformers) { check_group("corpus"); }

TEST_F(TokenizerGolden, HostileIdsEqualTransformers) { check_group("hostile"); }

TEST_F(TokenizerGolden, FtfyStageMatchesOnHostileStrings) {
  for (const auto& e : entries("hostile")) {
    EXPECT_EQ(encode_utf8(ftfy_fix_text(decode_utf8(e.raw))), e.after_ftfy) << e.name;
  }
}

TEST_F(TokenizerGolden, SpecialTokenTextMapsToSpecialIds) {
  // transformers matches added tokens literally (SentencePiece alone would split "</s>" up).
  const auto ids = tokenizer_->encode_cleaned("a </s> b <pad> <extra_id_0>");
  EXPECT_NE(std::find(ids.begin(), ids.end(), 1), ids.end());
  EXPECT_NE(std::find(ids.begin(), ids.end(), 0), ids.end());
  EXPECT_EQ(ids.back(), tokenizer_->vocab_size() - 1);  // <extra_id_0> is the last id (T5 layout)
}

TEST_F(TokenizerGolden, TruncatesKeepingEosAndPads) {
  const auto tokens = tokenizer_->encode({std::string(2000, 'a') + " b", "", "  \t "}, 8);
  EXPECT_EQ(tokens.ids.sizes(), (at::IntArrayRef{3, 8}));
  EXPECT_EQ(tokens.lengths, (std::vector<int64_t>{8, 1, 1}));
  EXPECT_EQ(tokens.ids[0][7].item<int64_t>(), tokenizer_->eos_id());
  EXPECT_EQ(tokens.mask[0].sum().item<int64_t>(), 8);
  EXPECT_EQ(tokens.ids[1][0].item<int64_t>(), tokenizer_->eos_id());
  EXPECT_EQ(tokens.ids[1].slice(0, 1).abs().sum().item<int64_t>(), 0);  // pad id 0
  EXPECT_EQ(tokens.mask[2].sum().item<int64_t>(), 1);
}

TEST_F(TokenizerGolden, InvalidUtf8IsACleanError) {
  const std::vector<std::string> bad = {
      std::string("caf\xC3", 4),        // cut off at the end
      std::string("\xFF\xFE prompt"),   // bytes that never start a character
      std::string("a\xC3\x28 b"),       // bad continuation
      std::string("\xC0\xAF"),          // overlong '/'
      std::string("\xED\xA0\x80"),      // UTF-16 surrogate
      std::string("\xF4\x90\x80\x80"),  // beyond U+10FFFF
      std::string("\x80 lone continuation"),
  };
  for (const auto& s : bad) {
    try {
      tokenizer_->encode({"fine", s}, 16);
      ADD_FAILURE() << "no error for invalid UTF-8";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
      EXPECT_NE(std::string(e.what()).find("UTF-8"), std::string::npos) << e.what();
    }
  }
}

TEST_F(TokenizerGolden, RandomBytesNeverCrash) {
  // Random byte strings (mostly invalid UTF-8) fail with a clean error; random code points
  // (valid UTF-8, incl. '&', '<', controls, surrogate-free planes 0-16) always tokenise.
  std::mt19937 rng(1234);
  int errors = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes(rng() % 64, '\0');
    for (auto& b : bytes) b = static_cast<char>(rng() % 256);
    try {
      tokenizer_->encode({bytes}, 64);
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
      ++errors;
    }
  }
  EXPECT_GT(errors, 2000);
  const char32_t specials[] = {U'&', U'<', U';', U'#', U' ', U'\n', 0x1B, U'[', 0x80, 0xC3, 0x200B};
  for (int i = 0; i < 3000; ++i) {
    std::u32string text;
    const int n = rng() % 40;
    for (int k = 0; k < n; ++k) {
      char32_t c = rng() % 3 == 0 ? specials[rng() % std::size(specials)]
                                  : static_cast<char32_t>(rng() % 0x110000);
      if (c >= 0xD800 && c <= 0xDFFF) c = U'x';
      text.push_back(c);
    }
    const auto tokens = tokenizer_->encode({encode_utf8(text)}, 64);
    EXPECT_GE(tokens.lengths[0], 1);
  }
}

TEST_F(TokenizerGolden, RejectsBadArguments) {
  EXPECT_THROW(tokenizer_->encode({"x"}, 0), Error);
  EXPECT_THROW(tokenizer_->encode({}, 16), Error);
  EXPECT_THROW(Tokenizer::load(test::scratch_dir("no_spiece")), Error);
}

// Extra strings (HTML edge cases, ftfy fixers, truncation lengths) from
// scripts/reference/extra_encoders.py, each with transformers' ids.
TEST(TokenizerExtra, IdsEqualTransformers) {
  const auto dir = test::fixtures_dir() / "golden_extra" / "encoders";
  ASSERT_TRUE(fs::exists(dir / "manifest.json"))
      << dir << " is missing: run scripts/reference/extra_encoders.py --out "
      << test::fixtures_dir();
  const auto manifest = io::JsonFile::load(dir / "manifest.json");
  const auto tok = Tokenizer::load(
      test::fixtures_dir() / manifest.json().at("params").at("tokenizer_dir").get<std::string>());
  const auto store = io::WeightStore::open_file(dir / "tokens_extra.safetensors");
  int checked = 0;
  for (const auto& c : manifest.json().at("tokens_extra")) {
    const std::string raw = c.at("raw");
    const int64_t max_len = c.at("max_length");
    const auto tokens = tok.encode({raw}, max_len);
    const auto ref = store.tensor(c.at("ids"));
    EXPECT_TRUE(at::equal(tokens.ids[0], ref[0]))
        << c.at("name").get<std::string>() << " raw=" << raw << "\n ours " << tokens.ids[0]
        << "\n theirs " << ref[0];
    EXPECT_EQ(clean_prompt(raw), c.at("cleaned").get<std::string>()) << c.at("name");
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

// umT5-style SentencePiece model with byte fallback, loaded by transformers' T5Tokenizer (whose
// Unigram has byte_fallback off): unknown characters must become one fused <unk>, not bytes.
TEST(TokenizerByteFallback, IdsEqualTransformers) {
  const auto dir = test::fixtures_dir() / "golden_extra" / "encoders";
  ASSERT_TRUE(fs::exists(dir / "manifest.json"))
      << "run scripts/reference/extra_encoders.py --out " << test::fixtures_dir();
  const auto manifest = io::JsonFile::load(dir / "manifest.json");
  const auto tok = Tokenizer::load(
      test::fixtures_dir() / manifest.json().at("byte_fallback_tokenizer_dir").get<std::string>());
  const auto store = io::WeightStore::open_file(dir / "tokens_extra.safetensors");
  int checked = 0;
  for (const auto& c : manifest.json().at("tokens_byte_fallback")) {
    const auto tokens = tok.encode({c.at("raw").get<std::string>()}, c.at("max_length"));
    const auto ref = store.tensor(c.at("ids"));
    EXPECT_TRUE(at::equal(tokens.ids[0], ref[0]))
        << c.at("name").get<std::string>() << "\n ours " << tokens.ids[0].slice(0, 0, 40)
        << "\n theirs " << ref[0].slice(0, 0, 40);
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

}  // namespace
}  // namespace rayvid::models::umt5
