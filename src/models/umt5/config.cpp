// UMT5Config parsing and validation.
#include "models/umt5/config.h"

#include <fmt/format.h>

#include "core/check.h"
#include "models/config_limits.h"

namespace rayvid::models::umt5 {

UMT5Config UMT5Config::from_json(const io::JsonFile& json) {
  UMT5Config c;
  c.vocab_size = json.require<int64_t>("vocab_size");
  c.d_model = json.require<int64_t>("d_model");
  c.d_kv = json.require<int64_t>("d_kv");
  c.num_heads = json.require<int64_t>("num_heads");
  c.d_ff = json.require<int64_t>("d_ff");
  c.num_layers = json.require<int64_t>("num_layers");
  c.relative_attention_num_buckets = json.get_or<int64_t>("relative_attention_num_buckets", 32);
  c.relative_attention_max_distance = json.get_or<int64_t>("relative_attention_max_distance", 128);
  c.layer_norm_epsilon = json.get_or<double>("layer_norm_epsilon", 1e-6);
  c.feed_forward_proj = json.get_or<std::string>("feed_forward_proj", "gated-gelu");
  c.pad_token_id = json.get_or<int64_t>("pad_token_id", 0);
  c.eos_token_id = json.get_or<int64_t>("eos_token_id", 1);
  // transformers (T5Config/UMT5Config): "[gated-]ACT"; "gated-gelu" means gelu_new (tanh).
  const auto& ffp = c.feed_forward_proj;
  c.gated = ffp.rfind("gated-", 0) == 0;
  const std::string act = c.gated ? ffp.substr(6) : ffp;
  if (ffp == "gated-gelu" || act == "gelu_new") {
    c.act = FeedForwardAct::kGeluTanh;
  } else if (act == "gelu") {
    c.act = FeedForwardAct::kGeluExact;
  } else if (act == "relu") {
    c.act = FeedForwardAct::kRelu;
  } else if (act == "silu") {
    c.act = FeedForwardAct::kSilu;
  } else {
    fail(ErrorCategory::kUnsupported,
         "{}: feed_forward_proj '{}' is not supported; rayvid supports [gated-]gelu, "
         "[gated-]gelu_new, [gated-]relu and [gated-]silu",
         json.label(), ffp);
  }
  c.validate(json.label());
  return c;
}

UMT5Config UMT5Config::load(const std::filesystem::path& component_dir) {
  return from_json(io::JsonFile::load(component_dir / "config.json"));
}

UMT5Config UMT5Config::xxl() { return UMT5Config{}; }

void UMT5Config::validate(const std::string& where) const {
  check_size(where, "vocab_size", vocab_size, kMaxConfigVocab);
  check_size(where, "d_model", d_model, kMaxConfigWidth);
  check_size(where, "d_kv", d_kv, kMaxConfigWidth);
  check_size(where, "num_heads", num_heads, kMaxConfigHeads);
  check_size(where, "d_ff", d_ff, kMaxConfigWidth);
  check_size(where, "num_layers", num_layers, kMaxConfigLayers);
  RAYVID_CHECK(relative_attention_num_buckets >= 4 && relative_attention_num_buckets <= 4096 &&
                   relative_attention_num_buckets % 2 == 0,
               BadInput,
               "{}: relative_attention_num_buckets {} must be even and within 4..4096 (half per "
               "direction, half of those exact)",
               where, relative_attention_num_buckets);
  RAYVID_CHECK(relative_attention_max_distance > relative_attention_num_buckets / 4 &&
                   relative_attention_max_distance <= (int64_t{1} << 20),
               BadInput,
               "{}: relative_attention_max_distance {} must exceed the exact range {} and be at "
               "most 2^20",
               where, relative_attention_max_distance, relative_attention_num_buckets / 4);
  check_positive_real(where, "layer_norm_epsilon", layer_norm_epsilon, 1.0);
  RAYVID_CHECK(pad_token_id >= 0 && pad_token_id < vocab_size, BadInput,
               "{}: pad_token_id {} must be a token id within 0..{}", where, pad_token_id,
               vocab_size - 1);
  RAYVID_CHECK(eos_token_id >= 0 && eos_token_id < vocab_size, BadInput,
               "{}: eos_token_id {} must be a token id within 0..{}", where, eos_token_id,
               vocab_size - 1);
}

std::string UMT5Config::summary() const {
  return fmt::format(
      "umT5 encoder: {} layers, d_model {}, {} heads x {}, d_ff {}, vocab {}, {} buckets "
      "(max distance {}), {}",
      num_layers, d_model, num_heads, d_kv, d_ff, vocab_size, relative_attention_num_buckets,
      relative_attention_max_distance, feed_forward_proj);
}

}  // namespace rayvid::models::umt5

namespace rayvid::models::umt5 {

nlohmann::json UMT5Config::to_json() const {
  return {{"model_type", "umt5"},
          {"vocab_size", vocab_size},
          {"d_model", d_model},
          {"d_kv", d_kv},
          {"num_heads", num_heads},
          {"d_ff", d_ff},
          {"num_layers", num_layers},
          {"relative_attention_num_buckets", relative_attention_num_buckets},
          {"relative_attention_max_distance", relative_attention_max_distance},
          {"layer_norm_epsilon", layer_norm_epsilon},
          {"feed_forward_proj", feed_forward_proj},
          {"pad_token_id", pad_token_id},
          {"eos_token_id", eos_token_id}};
}

}  // namespace rayvid::models::umt5
