// UMT5Config parsing and validation.
#include "models/umt5/config.h"

#include <fmt/format.h>

#include "core/check.h"

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
  c.validate();
  return c;
}

UMT5Config UMT5Config::load(const std::filesystem::path& component_dir) {
  return from_json(io::JsonFile::load(component_dir / "config.json"));
}

UMT5Config UMT5Config::xxl() { return UMT5Config{}; }

void UMT5Config::validate() const {
  auto positive = [](int64_t v, const char* name) {
    RAYVID_CHECK(v > 0, BadInput, "[UMT5Config] {} must be positive, got {}", name, v);
  };
  positive(vocab_size, "vocab_size");
  positive(d_model, "d_model");
  positive(d_kv, "d_kv");
  positive(num_heads, "num_heads");
  positive(d_ff, "d_ff");
  positive(num_layers, "num_layers");
  RAYVID_CHECK(relative_attention_num_buckets >= 4 && relative_attention_num_buckets % 2 == 0,
               BadInput,
               "[UMT5Config] relative_attention_num_buckets {} must be even and at least 4 (half "
               "per direction, half of those exact)",
               relative_attention_num_buckets);
  RAYVID_CHECK(relative_attention_max_distance > relative_attention_num_buckets / 4, BadInput,
               "[UMT5Config] relative_attention_max_distance {} must exceed the exact range {}",
               relative_attention_max_distance, relative_attention_num_buckets / 4);
  RAYVID_CHECK(layer_norm_epsilon > 0, BadInput, "[UMT5Config] layer_norm_epsilon must be > 0");
}

std::string UMT5Config::summary() const {
  return fmt::format(
      "umT5 encoder: {} layers, d_model {}, {} heads x {}, d_ff {}, vocab {}, {} buckets "
      "(max distance {}), {}",
      num_layers, d_model, num_heads, d_kv, d_ff, vocab_size, relative_attention_num_buckets,
      relative_attention_max_distance, feed_forward_proj);
}

}  // namespace rayvid::models::umt5
