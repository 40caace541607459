// The text-encoder front end of the Wan pipelines: prompts in, prompt embeddings out, exactly as
// diffusers' WanPipeline._get_t5_prompt_embeds makes them: prompt_clean, tokenizer (padding to
// max_length, truncation, EOS), UMT5EncoderModel, and rows beyond each prompt's true length set
// to exactly zero (they are not masked in the DiT; they become a learned constant there).
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/umt5/encoder.h"
#include "models/umt5/tokenizer.h"

namespace rayvid::models::umt5 {

inline constexpr int64_t kWanMaxSequenceLength = 512;  // pipeline default max_sequence_length

class TextEncoder {
 public:
  // `text_encoder_dir`: the folder with config.json and the safetensors (text_encoder/);
  // `tokenizer_dir`: the folder with spiece.model (tokenizer/). Weights are loaded strictly
  // and converted to `dtype` (fp32 or bf16) on `device`.
  static TextEncoder load(const std::filesystem::path& text_encoder_dir,
                          const std::filesystem::path& tokenizer_dir, c10::Device device,
                          c10::ScalarType dtype);
  // From parts: a config and weights from anywhere (a single file through CheckpointSource) and a
  // tokenizer (its folder, or the one a single file embeds). Checks they belong together.
  static TextEncoder assemble(Tokenizer tokenizer, const UMT5Config& config,
                              const WeightSource& source, c10::Device device,
                              c10::ScalarType dtype);
  // From a diffusers model folder (its text_encoder/ and tokenizer/).
  static TextEncoder load_from_model_folder(const std::filesystem::path& model_folder,
                                            c10::Device device, c10::ScalarType dtype);

  // Prompt embeddings [B, max_length, d_model] in the encoder dtype, zero beyond each prompt's
  // token count. Put positive and negative prompts in one batch to encode them together.
  at::Tensor encode(const std::vector<std::string>& prompts,
                    int64_t max_length = kWanMaxSequenceLength) const;
  // The same from token ids and mask [B, L] (e.g. made elsewhere).
  at::Tensor encode_tokens(const at::Tensor& ids, const at::Tensor& mask) const;

  const Tokenizer& tokenizer() const { return tokenizer_; }
  const UMT5Encoder& encoder() const { return *encoder_; }

 private:
  TextEncoder(Tokenizer tokenizer, std::unique_ptr<UMT5Encoder> encoder);
  Tokenizer tokenizer_;
  std::unique_ptr<UMT5Encoder> encoder_;
};

// Builds the encoder (weights strictly checked) from any weight source; used by load() and by
// the architecture tests with ShapeOnlySource.
UMT5Encoder build_umt5_encoder(const UMT5Config& config, const WeightSource& source,
                               c10::Device device, c10::ScalarType dtype,
                               std::map<std::string, std::vector<int64_t>>* taken = nullptr);

}  // namespace rayvid::models::umt5
