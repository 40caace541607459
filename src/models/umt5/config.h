// umT5 encoder configuration, as transformers' UMT5Config spells it in text_encoder/config.json.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "io/json_file.h"

namespace rayvid::models::umt5 {

enum class FeedForwardAct { kGeluTanh, kGeluExact, kRelu, kSilu };

struct UMT5Config {
  int64_t vocab_size = 256384;                     // embedding rows (SPM pieces + sentinels)
  int64_t d_model = 4096;                          // hidden width
  int64_t d_kv = 64;                               // per-head width
  int64_t num_heads = 64;                          // heads; inner width = num_heads * d_kv
  int64_t d_ff = 10240;                            // FFN width
  int64_t num_layers = 24;                         // encoder blocks
  int64_t relative_attention_num_buckets = 32;     // relative-position buckets (both signs)
  int64_t relative_attention_max_distance = 128;   // distances beyond share the last bucket
  double layer_norm_epsilon = 1e-6;                // T5 RMSNorm eps
  std::string feed_forward_proj = "gated-gelu";    // "gated-gelu" = gelu_new(wi_0 x) * wi_1 x
  bool gated = true;                               // derived from feed_forward_proj
  FeedForwardAct act = FeedForwardAct::kGeluTanh;  // derived from feed_forward_proj
  int64_t pad_token_id = 0;
  int64_t eos_token_id = 1;

  int64_t inner_dim() const { return num_heads * d_kv; }

  static UMT5Config from_json(const io::JsonFile& json);
  static UMT5Config load(const std::filesystem::path& component_dir);  // <dir>/config.json
  static UMT5Config xxl();         // google/umt5-xxl, the Wan text encoder
  nlohmann::json to_json() const;  // the transformers config.json fields from_json reads
  void validate(const std::string& where = "[UMT5Config]") const;  // `where`: the file
  std::string summary() const;                                     // one line for `rayvid inspect`
};

}  // namespace rayvid::models::umt5
