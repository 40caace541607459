// TextEncoder: see text_encoder.h.
#include "models/umt5/text_encoder.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/check.h"
#include "core/device.h"
#include "io/safetensors.h"

namespace rayvid::models::umt5 {

UMT5Encoder build_umt5_encoder(const UMT5Config& config, const WeightSource& source,
                               c10::Device device, c10::ScalarType dtype,
                               std::map<std::string, std::vector<int64_t>>* taken) {
  RAYVID_CHECK(dtype == at::kFloat || dtype == at::kBFloat16, Unsupported,
               "the umT5 encoder runs in fp32 or bf16, not {}", c10::toString(dtype));
  WeightLoader loader(source, device, dtype);
  auto weights = UMT5Weights::load(loader, config);
  loader.finish();
  if (taken) *taken = loader.taken();
  return UMT5Encoder(config, std::move(weights));
}

TextEncoder::TextEncoder(Tokenizer tokenizer, std::unique_ptr<UMT5Encoder> encoder)
    : tokenizer_(std::move(tokenizer)), encoder_(std::move(encoder)) {}

TextEncoder TextEncoder::load(const std::filesystem::path& text_encoder_dir,
                              const std::filesystem::path& tokenizer_dir, c10::Device device,
                              c10::ScalarType dtype) {
  StoreSource source(io::WeightStore::open_folder(text_encoder_dir), text_encoder_dir.string());
  return assemble(Tokenizer::load(tokenizer_dir), UMT5Config::load(text_encoder_dir), source,
                  device, dtype);
}

TextEncoder TextEncoder::assemble(Tokenizer tokenizer, const UMT5Config& config,
                                  const WeightSource& source, c10::Device device,
                                  c10::ScalarType dtype) {
  c10::InferenceMode guard(inference_mode_on(device));
  RAYVID_CHECK(tokenizer.vocab_size() <= config.vocab_size, BadInput,
               "{}: the tokenizer has {} ids but the text encoder only {} embedding rows; the "
               "tokenizer and the text encoder do not belong together",
               source.label(), tokenizer.vocab_size(), config.vocab_size);
  auto encoder = std::make_unique<UMT5Encoder>(build_umt5_encoder(config, source, device, dtype));
  return TextEncoder(std::move(tokenizer), std::move(encoder));
}

TextEncoder TextEncoder::load_from_model_folder(const std::filesystem::path& model_folder,
                                                c10::Device device, c10::ScalarType dtype) {
  return load(model_folder / "text_encoder", model_folder / "tokenizer", device, dtype);
}

at::Tensor TextEncoder::encode(const std::vector<std::string>& prompts, int64_t max_length) const {
  const auto tokens = tokenizer_.encode(prompts, max_length);
  return encode_tokens(tokens.ids, tokens.mask);
}

at::Tensor TextEncoder::encode_tokens(const at::Tensor& ids, const at::Tensor& mask) const {
  c10::InferenceMode guard(inference_mode_on(encoder_->device()));
  auto hidden = encoder_->forward(ids, mask);  // [B, L, D]
  // _get_t5_prompt_embeds keeps rows [0, n) with n = mask.sum() (true length incl. EOS) and
  // pads with zeros: the same as zeroing every row at or beyond n.
  const auto lengths = mask.to(hidden.device(), at::kLong).sum(1, /*keepdim=*/true);  // [B, 1]
  const auto positions = at::arange(ids.size(1), lengths.options()).unsqueeze(0);     // [1, L]
  const auto keep = (positions < lengths).unsqueeze(-1);                              // [B, L, 1]
  return at::where(keep, hidden, at::zeros({}, hidden.options()));                    // [B, L, D]
}

}  // namespace rayvid::models::umt5
