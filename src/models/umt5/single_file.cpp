#include "models/umt5/single_file.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "core/check.h"

namespace rayvid::models::umt5 {
const std::vector<std::string>& umt5_file_prefixes() {
  static const std::vector<std::string> p = {"text_encoders.umt5xxl.transformer."};
  return p;
}

bool looks_like_umt5(const std::vector<std::string>& names) {
  auto has = [&](const char* n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  return has("shared.weight") && has("encoder.block.0.layer.0.SelfAttention.q.weight") &&
         has("encoder.final_layer_norm.weight");
}

namespace {
// umT5 (not T5): a relative-attention bias in every block, and the gated FFN.
bool is_umt5_not_t5(const std::vector<std::string>& names) {
  auto has = [&](const char* n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  const bool one_block = !has("encoder.block.1.layer.0.SelfAttention.q.weight");
  return (one_block ||
          has("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight")) &&
         has("encoder.block.0.layer.1.DenseReluDense.wi_0.weight") &&
         has("encoder.block.0.layer.1.DenseReluDense.wi_1.weight");
}
}  // namespace

UMT5File open_umt5_file(const std::filesystem::path& file) {
  CheckpointSource source = CheckpointSource::open(file, umt5_file_prefixes());
  const auto names = source.names();
  if (!looks_like_umt5(names)) {
    std::vector<std::string> first(names.begin(),
                                   names.begin() + std::min<size_t>(names.size(), 4));
    fail(ErrorCategory::kBadInput,
         "{}: not a umT5 encoder in a layout rayvid reads (first tensors: {}); rayvid reads "
         "transformers' T5 names (shared.weight, encoder.block.0.layer.0.SelfAttention.q.weight), "
         "as ComfyUI's umt5_xxl files have them; the original Wan-T5 names (blocks.0.attn.q) are "
         "not read yet: use the text_encoder/ folder of a Wan-AI/*-Diffusers model",
         file.string(), fmt::join(first, ", "));
  }
  RAYVID_CHECK(is_umt5_not_t5(names), BadInput,
               "{}: a T5 encoder but not umT5 (no relative-attention bias in every block, or no "
               "gated feed-forward): this looks like T5-XXL (Flux, SD3); Wan needs umT5-XXL "
               "(ComfyUI's umt5_xxl_*.safetensors)",
               file.string());
  auto shape = [&](const std::string& n) {
    const auto s = source.shape(n);
    RAYVID_CHECK(s.has_value() && !s->empty(), BadInput, "{}: no tensor {} (is this umT5?)",
                 file.string(), n);
    return *s;
  };
  UMT5Config c;
  c.vocab_size = shape("shared.weight")[0];
  c.d_model = shape("shared.weight")[1];
  c.num_heads = shape("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight")[1];
  c.relative_attention_num_buckets =
      shape("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight")[0];
  c.d_kv = shape("encoder.block.0.layer.0.SelfAttention.q.weight")[0] / c.num_heads;
  c.d_ff = shape("encoder.block.0.layer.1.DenseReluDense.wi_0.weight")[0];
  c.num_layers = 0;
  while (source.shape(fmt::format("encoder.block.{}.layer.0.SelfAttention.q.weight", c.num_layers)))
    ++c.num_layers;
  c = UMT5Config::from_json(io::JsonFile::from_json(c.to_json(), file.string()));  // derived fields
  c.validate(file.string());
  const bool embeds = source.embedded("spiece_model").has_value();
  return {std::move(source), c, embeds};
}

Tokenizer embedded_tokenizer(const UMT5File& file) {
  const auto bytes = file.source.embedded("spiece_model");
  RAYVID_CHECK(bytes.has_value(), BadArgument,
               "{} has no embedded SentencePiece model; give --tokenizer (the tokenizer/ folder "
               "of a Wan-AI/*-Diffusers model)",
               file.source.label());
  // SentencePiece loads from a file: the bytes go to a private temporary folder for the call.
  std::string pattern = (std::filesystem::temp_directory_path() / "rayvid-spiece-XXXXXX").string();
  RAYVID_CHECK(mkdtemp(pattern.data()) != nullptr, Internal,
               "cannot create a temporary folder {} for the embedded tokenizer", pattern);
  const std::filesystem::path dir(pattern);
  const at::Tensor data = bytes->contiguous();
  {
    std::ofstream out(dir / "spiece.model", std::ios::binary);
    out.write(static_cast<const char*>(data.data_ptr()), data.numel());
    out.close();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
      fail(ErrorCategory::kInternal, "cannot write the embedded tokenizer to {} (disk full?)",
           dir.string());
    }
  }
  try {
    Tokenizer tok = Tokenizer::load(dir);
    std::filesystem::remove_all(dir);
    return tok;
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    throw;
  }
}

}  // namespace rayvid::models::umt5
