// LoRA parsing and merging for the Wan DiT: see lora.h.
#include "models/wan_dit/lora.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <map>

#include "core/check.h"
#include "io/safetensors.h"
#include "models/fp8_weights.h"
#include "models/wan_dit/lora_keys.h"
#include "models/wan_dit/weight_names.h"
#include "models/wan_dit/weights.h"

namespace rayvid::models::wan_dit {
namespace {

using Shapes = std::map<std::string, std::vector<int64_t>>;

// The DiT's own name for the module (or parameter) a key names; std::nullopt if none.
class ModuleResolver {
 public:
  ModuleResolver(const Shapes& shapes, LoraFormat format) : shapes_(shapes), format_(format) {
    if (!lora_format_uses_underscores(format)) return;
    for (const auto& [name, shape] : shapes) {
      const std::string original = wan_diffusers_to_original(name).value_or(name);
      std::string underscored = strip_param(original);
      std::replace(underscored.begin(), underscored.end(), '.', '_');
      underscored_[underscored] = strip_param(original);
      underscored_[std::string(original)] = original;  // a parameter spelled whole
    }
  }

  // `written` as in the key (prefix and suffix removed) -> the diffusers module path.
  std::optional<std::string> module(const std::string& written) const {
    std::string original = written;
    if (lora_format_uses_underscores(format_)) {
      const auto it = underscored_.find(written);
      if (it == underscored_.end()) return std::nullopt;
      original = it->second;
    }
    if (!lora_format_uses_original_names(format_)) return original;
    // Translate as a weight ("blocks.0.self_attn.q" + ".weight") or as a whole parameter
    // ("blocks.0.modulation"); names the layouts share (patch_embedding) stay.
    if (const auto d = wan_original_to_diffusers(original + ".weight"))
      return d->substr(0, d->size() - 7);
    if (const auto d = wan_original_to_diffusers(original)) return *d;
    return original;
  }

  bool has(const std::string& tensor) const { return shapes_.count(tensor) > 0; }
  const std::vector<int64_t>& shape(const std::string& tensor) const { return shapes_.at(tensor); }

 private:
  static std::string strip_param(const std::string& name) {
    for (const char* suffix : {".weight", ".bias"}) {
      if (name.ends_with(suffix)) return name.substr(0, name.size() - std::string(suffix).size());
    }
    return name;
  }
  const Shapes& shapes_;
  LoraFormat format_;
  std::map<std::string, std::string> underscored_;
};

// The image branch of Wan2.1 I2V (CLIP tokens): a LoRA trained on I2V names it; a T2V DiT has none.
bool is_image_branch(const std::string& written) {
  for (const char* word : {"k_img", "v_img", "norm_k_img", "img_emb", "add_k_proj", "add_v_proj",
                           "norm_added_k", "image_embedder"}) {
    if (written.find(word) != std::string::npos) return true;
  }
  return false;
}

// diffusers' saved adapter config (safetensors metadata "lora_adapter_metadata"): the scale of
// every pair without an .alpha key; 1 when absent.
double metadata_scale(const std::map<std::string, std::string>& metadata, int64_t rank) {
  const auto it = metadata.find("lora_adapter_metadata");
  if (it == metadata.end()) return 1.0;
  const auto config = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) return 1.0;
  auto value = [&](const char* key) -> nlohmann::json {
    for (const std::string& name : {std::string("transformer.") + key, std::string(key)}) {
      if (config.contains(name)) return config[name];
    }
    return nullptr;
  };
  const auto alpha = value("lora_alpha");
  if (!alpha.is_number()) return 1.0;
  const bool rs = value("use_rslora").is_boolean() && value("use_rslora").get<bool>();
  return alpha.get<double>() / (rs ? std::sqrt(static_cast<double>(rank)) : rank);
}

struct Pair {
  at::Tensor down, up;
  at::Tensor up_bias;  // lora_B.bias: scaled with the pair (PEFT: lora_B(...) * scaling)
  std::string up_bias_target;
  std::optional<double> alpha;
  std::string down_key, up_key;
};

}  // namespace

ParsedLora parse_lora(const std::filesystem::path& file, const WanDiTConfig& config) {
  const io::WeightStore store = io::WeightStore::open_file(file);
  const std::vector<std::string> keys = store.names();
  const auto format = detect_lora_format(keys);
  RAYVID_CHECK(format.has_value(), BadInput,
               "{} is not a LoRA file: no key ends in lora_A/lora_B/lora_down/lora_up/alpha/diff "
               "(first keys: {}); pass a LoRA trained for Wan",
               file.string(),
               fmt::join(keys.begin(), keys.begin() + std::min<size_t>(3, keys.size()), ", "));
  const Shapes shapes = weight_shapes(config);
  const ModuleResolver resolver(shapes, *format);
  const bool has_image_branch = config.has_image_input();

  ParsedLora out;
  out.format = lora_format_name(*format);
  std::map<std::string, Pair> pairs;  // by target tensor
  for (const std::string& key : keys) {
    const auto split = split_lora_key(key);
    const auto module = split ? resolver.module(split->module) : std::nullopt;
    std::optional<std::string> target;
    if (module) {
      switch (split->role) {
        case LoraRole::kDown:
        case LoraRole::kUp:
        case LoraRole::kAlpha:
        case LoraRole::kDiff:
          if (resolver.has(*module + ".weight"))
            target = *module + ".weight";
          else if (split->role == LoraRole::kDiff && resolver.has(*module))
            target = *module;
          break;
        case LoraRole::kUpBias:  // filed under its pair (the weight), see below
          if (resolver.has(*module + ".bias") && resolver.has(*module + ".weight"))
            target = *module + ".weight";
          break;
        case LoraRole::kDiffBias:
          if (resolver.has(*module + ".bias")) target = *module + ".bias";
          break;
        case LoraRole::kDiffModulation: {
          // A block's (or the head's) modulation table; or the table itself named.
          const std::string table =
              module->empty() ? "scale_shift_table" : *module + ".scale_shift_table";
          if (resolver.has(table))
            target = table;
          else if (module->ends_with("scale_shift_table") && resolver.has(*module))
            target = *module;
          break;
        }
      }
    }
    if (!target) {
      if (split && !has_image_branch && is_image_branch(split->module)) {
        out.skipped.push_back(key);
      } else {
        out.unmatched.push_back(key);
      }
      continue;
    }
    const at::Tensor value = store.tensor(key);
    switch (split->role) {
      case LoraRole::kDown:
        pairs[*target].down = value, pairs[*target].down_key = key;
        break;
      case LoraRole::kUp:
        pairs[*target].up = value, pairs[*target].up_key = key;
        break;
      case LoraRole::kUpBias: {
        const std::string bias = target->substr(0, target->size() - 7) + ".bias";
        RAYVID_CHECK(value.numel() == c10::multiply_integers(resolver.shape(bias)), BadInput,
                     "{}: {} has shape [{}], its target {} [{}]; the LoRA is for another model",
                     file.string(), key, fmt::join(value.sizes(), ", "), bias,
                     fmt::join(resolver.shape(bias), ", "));
        pairs[*target].up_bias = value, pairs[*target].up_bias_target = bias;
        break;
      }
      case LoraRole::kAlpha:
        RAYVID_CHECK(value.numel() == 1, BadInput, "{}: {} is not a scalar", file.string(), key);
        pairs[*target].alpha = value.to(at::kDouble).item<double>();
        break;
      default: {
        const auto& shape = resolver.shape(*target);
        RAYVID_CHECK(value.numel() == c10::multiply_integers(shape), BadInput,
                     "{}: {} has shape [{}], its target {} [{}]; the LoRA is for another model",
                     file.string(), key, fmt::join(value.sizes(), ", "), *target,
                     fmt::join(shape, ", "));
        LoraDelta d;
        d.target = *target;
        d.full = value.reshape(shape);
        out.deltas.push_back(std::move(d));
      }
    }
  }

  const auto metadata = store.metadata();
  for (auto& [target, pair] : pairs) {
    RAYVID_CHECK(pair.down.defined() && pair.up.defined(), BadInput,
                 "{}: {} has {} but not its {} half; the file is incomplete", file.string(), target,
                 pair.down.defined() ? pair.down_key : pair.up_key,
                 pair.down.defined() ? "up" : "down");
    const auto& shape = resolver.shape(target);
    const int64_t rank = pair.down.size(0);
    const int64_t in = pair.down.numel() / rank;
    RAYVID_CHECK(
        pair.up.dim() >= 2 && pair.up.size(1) == rank && pair.up.size(0) == shape[0] &&
            in * shape[0] == c10::multiply_integers(shape),
        BadInput,
        "{}: the pair for {} is [{}] @ [{}], its target [{}]; the LoRA is for another model",
        file.string(), target, fmt::join(pair.up.sizes(), ", "), fmt::join(pair.down.sizes(), ", "),
        fmt::join(shape, ", "));
    LoraDelta d;
    d.target = target;
    d.up = pair.up.reshape({shape[0], rank});
    d.down = pair.down.reshape({rank, in});
    if (pair.alpha) {
      d.scale = *pair.alpha / static_cast<double>(rank);
    } else if (*format == LoraFormat::kRsLora) {
      // WanVideoWrapper's compensate_rs_lora_format: alpha = r * r // sqrt(r).
      d.scale =
          std::floor(static_cast<double>(rank * rank) / std::sqrt(static_cast<double>(rank))) /
          static_cast<double>(rank);
    } else {
      d.scale = metadata_scale(metadata, rank);
    }
    if (pair.up_bias.defined()) {
      LoraDelta bias;
      bias.target = pair.up_bias_target;
      bias.full = pair.up_bias.to(at::kFloat).reshape(resolver.shape(bias.target)) * d.scale;
      out.deltas.push_back(std::move(bias));
    }
    out.deltas.push_back(std::move(d));
  }
  return out;
}

namespace {

// sign * strength * delta for a tensor of `sizes`, in fp32 on `device`.
at::Tensor delta_tensor(const LoraDelta& d, double factor, at::IntArrayRef sizes,
                        c10::Device device) {
  if (d.full.defined()) return d.full.to(device, at::kFloat) * factor;
  return at::matmul(d.up.to(device, at::kFloat), d.down.to(device, at::kFloat))
      .mul_(d.scale * factor)
      .reshape(sizes);  // [out, in...]
}

// A DiT tensor a LoRA may change: a plain tensor, or a Linear whose weight is stored in fp8.
struct MergeTarget {
  at::Tensor* tensor = nullptr;
  Linear* fp8_linear = nullptr;
};

// Adds the delta in fp32, rounded once into the tensor's dtype. An fp8-stored weight is
// dequantized, changed and quantized again with fresh per-row scales (the delta may widen a
// row's range), as tools that merge LoRAs into fp8 checkpoints do; that rounding is lossy.
void add_delta(const MergeTarget& target, const LoraDelta& d, double factor) {
  if (target.fp8_linear) {
    Linear& linear = *target.fp8_linear;
    at::Tensor weight = dequantize_fp8({linear.weight, linear.scale}, at::kFloat);
    weight.add_(delta_tensor(d, factor, weight.sizes(), weight.device()));
    Fp8Weight merged = quantize_fp8_rowwise(weight);
    linear.weight = std::move(merged.data);
    linear.scale = std::move(merged.scale);
    return;
  }
  at::Tensor& weight = *target.tensor;
  const at::Tensor change = delta_tensor(d, factor, weight.sizes(), weight.device());
  if (weight.scalar_type() == at::kFloat) {
    weight.add_(change);
  } else {
    weight.copy_(weight.to(at::kFloat).add_(change));
  }
}

std::map<std::string, MergeTarget> targets_by_name(WanDiT& dit) {
  std::map<std::string, MergeTarget> out;
  auto& weights = dit.weights_for_update();
  const bool fp8 = dit.options().weight_storage == WeightStorage::kFp8;
  visit_weights(
      weights, dit.config(),
      [&](const std::string& name, const std::vector<int64_t>&, WeightPrecision, at::Tensor& slot) {
        out[name].tensor = &slot;
      },
      fp8 ? Fp8LinearVisitor([&](const std::string& name, const std::vector<int64_t>&,
                                 Linear& linear) { out[name].fp8_linear = &linear; })
          : Fp8LinearVisitor());
  return out;
}

void merge(WanDiT& dit, const ParsedLora& lora, double factor) {
  const auto targets = targets_by_name(dit);
  for (const LoraDelta& d : lora.deltas) add_delta(targets.at(d.target), d, factor);
}

}  // namespace

LoraMerge LoraMerge::apply(WanDiT& dit, const std::vector<LoraSpec>& loras, bool allow_unmatched) {
  LoraMerge result;
  // Parse (and check) every file before touching the weights: an error leaves the DiT as it was.
  std::vector<ParsedLora> parsed;
  for (const LoraSpec& spec : loras) {
    ParsedLora lora = parse_lora(spec.path, dit.config());
    RAYVID_CHECK(
        allow_unmatched || lora.unmatched.empty(), BadArgument,
        "LoRA {} has {} key(s) that match nothing in this DiT ({}): {}; it was made for "
        "another model, or pass --lora-allow-unmatched to load the rest",
        spec.path.string(), lora.unmatched.size(), dit.config().summary(),
        fmt::join(lora.unmatched.begin(),
                  lora.unmatched.begin() + std::min<size_t>(8, lora.unmatched.size()), ", "));
    parsed.push_back(std::move(lora));
  }
  for (size_t i = 0; i < loras.size(); ++i) {
    ParsedLora& lora = parsed[i];
    merge(dit, lora, loras[i].strength);
    LoraReport report;
    report.path = loras[i].path.string();
    report.format = lora.format;
    report.strength = loras[i].strength;
    report.tensors_changed = static_cast<int64_t>(lora.deltas.size());
    report.unmatched = lora.unmatched;
    report.skipped = lora.skipped;
    spdlog::info("LoRA {} ({} format, strength {}): {} tensors changed{}{}", report.path,
                 report.format, report.strength, report.tensors_changed,
                 report.skipped.empty()
                     ? ""
                     : fmt::format(", {} image-branch keys skipped (this model has none)",
                                   report.skipped.size()),
                 report.unmatched.empty()
                     ? ""
                     : fmt::format(", {} unmatched keys ignored", report.unmatched.size()));
    result.reports_.push_back(std::move(report));
    result.applied_.push_back({std::move(lora), loras[i].strength});
  }
  return result;
}

void LoraMerge::undo(WanDiT& dit) {
  RAYVID_CHECK(dit.options().weight_storage != WeightStorage::kFp8, Unsupported,
               "a LoRA merged into fp8-stored weights cannot be taken out exactly (the merge "
               "re-quantized them); load the model again instead");
  for (auto it = applied_.rbegin(); it != applied_.rend(); ++it)
    merge(dit, it->lora, -it->strength);
  applied_.clear();
  reports_.clear();
}

}  // namespace rayvid::models::wan_dit
