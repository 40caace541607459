// The umT5 tokenizer as transformers' T5Tokenizer (tokenizers backend) runs it inside the Wan
// pipelines: prompt_clean, then the SentencePiece unigram model of `tokenizer/spiece.model`,
// EOS appended, truncation to max_length (EOS kept last), right padding with <pad>, and the
// attention mask.
//
// transformers 5.x builds a `tokenizers` Unigram from spiece.model with the model's own
// precompiled NFKC charsmap, a whitespace split and "▁" prepended to every word; on any text
// that equals SentencePiece's own encoding, except for one thing: the special tokens listed in
// tokenizer.json ("</s>", "<pad>", "<unk>", "<extra_id_N>") are recognised literally in the text
// and map to their ids, with the text between them tokenised separately. We do the same split.
// And if spiece.model has byte fallback but tokenizer.json's Unigram does not (T5Tokenizer's
// default), a run of <0xNN> byte pieces becomes one <unk>, as transformers fuses unknowns.
// The reference harness checks SentencePiece + split == transformers on every corpus line and
// hostile input (tests/models/umt5/tokenizer_test.cpp compares our ids with transformers').
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rayvid::io {
class SentencePiece;
}

namespace rayvid::models::umt5 {

struct TokenBatch {
  at::Tensor ids;                // [B, max_length] int64, right-padded with pad_id
  at::Tensor mask;               // [B, max_length] int64, 1 on real tokens incl. EOS
  std::vector<int64_t> lengths;  // per prompt: number of real tokens incl. EOS
};

struct AddedToken {
  std::string content;  // "</s>"
  int64_t id = 0;       // 1
  bool lstrip = false;  // strips whitespace on its left (HF AddedToken semantics)
  bool rstrip = false;
};

class Tokenizer {
 public:
  // `dir` is a diffusers `tokenizer/` folder: spiece.model (required), tokenizer.json (for the
  // added/special tokens; without it: <pad>, </s>, <unk> and tokenizer_config.json's extra_ids).
  static Tokenizer load(const std::filesystem::path& dir);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Pipeline-exact: clean, tokenise, truncate, pad. Invalid UTF-8 is a kBadInput error.
  TokenBatch encode(const std::vector<std::string>& prompts, int64_t max_length) const;
  // Ids of an already-cleaned prompt, without EOS and without truncation.
  std::vector<int64_t> encode_cleaned(std::string_view cleaned) const;

  int64_t pad_id() const { return pad_id_; }
  int64_t eos_id() const { return eos_id_; }
  int64_t vocab_size() const;  // SentencePiece pieces plus added tokens beyond them
  const std::vector<AddedToken>& added_tokens() const { return added_; }

 private:
  Tokenizer() = default;
  std::unique_ptr<io::SentencePiece> spm_;
  std::vector<AddedToken> added_;  // longest content first (leftmost-longest matching)
  int64_t pad_id_ = 0;
  int64_t eos_id_ = 1;
  bool byte_fallback_ = false;  // transformers' Unigram flag (tokenizer.json model.byte_fallback)
};

}  // namespace rayvid::models::umt5
