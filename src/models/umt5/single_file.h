// umT5 in one safetensors file, as ComfyUI ships it
// (split_files/text_encoders/umt5_xxl_*.safetensors): transformers' T5 names (`shared.weight`,
// `encoder.block.N.layer.0.SelfAttention.q.weight`, ...), fp16/bf16/fp32 or fp8_scaled, sometimes
// with the SentencePiece model embedded as a uint8 `spiece_model` tensor. The config comes from the
// shapes; the relative-attention distance (128) and the activation (gated-gelu) are umT5's, which
// no shape records.
#pragma once

#include <filesystem>
#include <optional>

#include "models/checkpoint_source.h"
#include "models/umt5/config.h"
#include "models/umt5/tokenizer.h"

namespace rayvid::models::umt5 {

struct UMT5File {
  CheckpointSource source;
  UMT5Config config;
  bool embeds_tokenizer = false;  // has `spiece_model`
};

// The wrappers umT5 files carry (ComfyUI's full checkpoints nest it; the split files have none).
const std::vector<std::string>& umt5_file_prefixes();

bool looks_like_umt5(const std::vector<std::string>& names);

// kBadInput when the file is not an umT5 encoder in transformers' names (the original Wan-T5
// names, `blocks.N.attn.q`, are not read yet), naming what it holds.
UMT5File open_umt5_file(const std::filesystem::path& file);

// The tokenizer from the file's embedded SentencePiece model (T5 layout: no extra ids).
Tokenizer embedded_tokenizer(const UMT5File& file);

}  // namespace rayvid::models::umt5
