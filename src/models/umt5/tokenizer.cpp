// The umT5 tokenizer: see tokenizer.h.
#include "models/umt5/tokenizer.h"

#include "io/sentencepiece.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/json_file.h"
#include "io/regular_file.h"
#include "models/umt5/prompt_clean.h"
#include "models/umt5/utf8.h"

namespace rayvid::models::umt5 {
namespace {

struct HfTokenizerFile {
  std::vector<AddedToken> added;
  bool byte_fallback = false;  // model.byte_fallback (T5Tokenizer's default when absent: false)
};

// tokenizer.json's "added_tokens" and the model's flags only: the vocabulary (model.vocab) of a
// real umT5 tokenizer.json is 16 MB of JSON we do not need, so the parser drops it while reading.
HfTokenizerFile read_tokenizer_json(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  RAYVID_CHECK(in.good(), BadInput, "cannot read {}", file.string());
  nlohmann::json::parser_callback_t keep_added = [](int depth, nlohmann::json::parse_event_t event,
                                                    nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1) {
      return parsed == "added_tokens" || parsed == "model";
    }
    if (event == nlohmann::json::parse_event_t::key && depth == 2) return parsed != "vocab";
    return true;
  };
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(in, keep_added);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCategory::kBadInput, "{}: not valid JSON ({})", file.string(), e.what());
  }
  HfTokenizerFile out;
  if (root.contains("model") && root["model"].is_object()) {
    const auto& model = root["model"];
    RAYVID_CHECK(model.value("type", std::string("Unigram")) == "Unigram", Unsupported,
                 "{}: model type '{}' is not a SentencePiece Unigram; the umT5 tokenizer needs one",
                 file.string(), model.value("type", std::string()));
    out.byte_fallback = model.value("byte_fallback", false);
  }
  auto& tokens = out.added;
  if (!root.contains("added_tokens")) return out;
  RAYVID_CHECK(root["added_tokens"].is_array(), BadInput, "{}: 'added_tokens' should be a list",
               file.string());
  for (const auto& t : root["added_tokens"]) {
    RAYVID_CHECK(t.is_object() && t.contains("content") && t["content"].is_string() &&
                     t.contains("id") && t["id"].is_number_integer(),
                 BadInput, "{}: every added token needs a string 'content' and an integer 'id'",
                 file.string());
    AddedToken token{t["content"].get<std::string>(), t["id"].get<int64_t>(),
                     t.value("lstrip", false), t.value("rstrip", false)};
    RAYVID_CHECK(!token.content.empty(), BadInput, "{}: an added token is empty", file.string());
    tokens.push_back(std::move(token));
  }
  return out;
}

bool starts_with_at(std::string_view text, size_t pos, std::string_view token) {
  return text.size() - pos >= token.size() && text.compare(pos, token.size(), token) == 0;
}

}  // namespace

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::load(const std::filesystem::path& dir) {
  const auto model_file = dir / "spiece.model";
  RAYVID_CHECK(io::path_kind(model_file) != io::PathKind::kMissing, BadInput,
               "{} is missing: the umT5 tokenizer needs the SentencePiece model of the "
               "diffusers tokenizer/ folder",
               model_file.string());
  io::require_regular_file(model_file, "SentencePiece model");
  // Optional files: absent means the fallback below; present but not a file (a FIFO, a folder) is
  // an error, never silently skipped.
  auto present = [](const std::filesystem::path& path) {
    if (io::path_kind(path) == io::PathKind::kMissing) return false;
    io::require_regular_file(path, "tokenizer file");
    return true;
  };
  Tokenizer tok;
  tok.spm_ = std::make_unique<io::SentencePiece>(io::SentencePiece::load(model_file));
  const int pieces = tok.spm_->piece_size();
  tok.pad_id_ = tok.spm_->pad_id() >= 0 ? tok.spm_->pad_id() : 0;
  tok.eos_id_ = tok.spm_->eos_id() >= 0 ? tok.spm_->eos_id() : 1;

  if (present(dir / "tokenizer.json")) {
    auto hf = read_tokenizer_json(dir / "tokenizer.json");
    tok.added_ = std::move(hf.added);
    tok.byte_fallback_ = hf.byte_fallback;
  } else {
    // T5 layout: control pieces, then extra_ids sentinels in reverse after the SPM vocabulary.
    for (int id = 0; id < pieces; ++id) {
      if (tok.spm_->is_control(id) || tok.spm_->is_unknown(id)) {
        tok.added_.push_back({tok.spm_->id_to_piece(id), id, false, false});
      }
    }
    int64_t extra_ids = 0;
    if (present(dir / "tokenizer_config.json")) {
      extra_ids = io::JsonFile::load(dir / "tokenizer_config.json").get_or<int64_t>("extra_ids", 0);
    }
    for (int64_t i = 0; i < extra_ids; ++i) {
      tok.added_.push_back({fmt::format("<extra_id_{}>", i), pieces + extra_ids - 1 - i});
    }
  }
  std::stable_sort(
      tok.added_.begin(), tok.added_.end(),
      [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
  return tok;
}

int64_t Tokenizer::vocab_size() const {
  int64_t size = spm_->piece_size();
  for (const auto& t : added_) size = std::max(size, t.id + 1);
  return size;
}

std::vector<int64_t> Tokenizer::encode_cleaned(std::string_view cleaned) const {
  std::vector<int64_t> ids;
  auto encode_segment = [&](std::string_view segment) {
    const std::vector<int> piece_ids = spm_->encode(segment);
    for (size_t i = 0; i < piece_ids.size(); ++i) {
      // A byte-fallback SentencePiece model spells unknown characters as <0xNN> pieces; when
      // transformers' Unigram has byte_fallback off it emits one fused <unk> for the run instead.
      if (!byte_fallback_ && spm_->is_byte(piece_ids[i])) {
        if (i == 0 || !spm_->is_byte(piece_ids[i - 1])) ids.push_back(spm_->unk_id());
        continue;
      }
      ids.push_back(piece_ids[i]);
    }
  };
  auto is_space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  size_t segment_start = 0;
  size_t pos = 0;
  while (pos < cleaned.size()) {
    const AddedToken* match = nullptr;
    for (const auto& t : added_) {  // longest first: leftmost-longest like tokenizers
      if (starts_with_at(cleaned, pos, t.content)) {
        match = &t;
        break;
      }
    }
    if (!match) {
      ++pos;
      continue;
    }
    size_t segment_end = pos;
    if (match->lstrip) {
      while (segment_end > segment_start && is_space(cleaned[segment_end - 1])) --segment_end;
    }
    encode_segment(cleaned.substr(segment_start, segment_end - segment_start));
    ids.push_back(match->id);
    pos += match->content.size();
    if (match->rstrip) {
      while (pos < cleaned.size() && is_space(cleaned[pos])) ++pos;
    }
    segment_start = pos;
  }
  encode_segment(cleaned.substr(segment_start));
  return ids;
}

TokenBatch Tokenizer::encode(const std::vector<std::string>& prompts, int64_t max_length) const {
  RAYVID_CHECK(max_length >= 1, BadArgument,
               "max_length {} leaves no room for the end-of-sequence token; use at least 1 "
               "(Wan uses 512)",
               max_length);
  const auto batch = static_cast<int64_t>(prompts.size());
  RAYVID_CHECK(batch >= 1, BadArgument, "no prompts to tokenise");
  TokenBatch out;
  out.ids = at::full({batch, max_length}, pad_id_, at::kLong);  // [B, L]
  out.mask = at::zeros({batch, max_length}, at::kLong);         // [B, L]
  auto ids_acc = out.ids.accessor<int64_t, 2>();
  auto mask_acc = out.mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<int64_t> ids = encode_cleaned(clean_prompt(prompts[b]));
    if (static_cast<int64_t>(ids.size()) > max_length - 1) ids.resize(max_length - 1);
    ids.push_back(eos_id_);
    for (size_t t = 0; t < ids.size(); ++t) {
      ids_acc[b][t] = ids[t];
      mask_acc[b][t] = 1;
    }
    out.lengths.push_back(static_cast<int64_t>(ids.size()));
  }
  return out;
}

}  // namespace rayvid::models::umt5
