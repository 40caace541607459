#include "models/checkpoint_source.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "core/check.h"
#include "models/fp8_weights.h"

namespace rayvid::models {
namespace {

bool is_fp8(io::StDType d) { return d == io::StDType::kF8E4M3 || d == io::StDType::kF8E5M2; }

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// "X.weight" -> "X" (the layer whose scale tensors are X.scale_weight / X.weight_scale).
std::string layer_of(const std::string& weight) {
  return ends_with(weight, ".weight") ? weight.substr(0, weight.size() - 7) : weight;
}

const std::vector<std::string>& scale_suffixes() {
  static const std::vector<std::string> s = {".scale_weight", ".scale_input", ".weight_scale",
                                             ".input_scale", ".comfy_quant"};
  return s;
}

// Top-level tensors that are not weights: ComfyUI's fp8 marker and the SentencePiece model its
// umT5 files embed (matched after the wrapper prefix is stripped: ComfyUI saves
// `model.diffusion_model.scaled_fp8`).
bool is_marker(const std::string& stripped) {
  return stripped == "scaled_fp8" || stripped == "spiece_model";
}

bool is_scale_or_marker(const std::string& name) {
  if (is_marker(name)) return true;
  return std::any_of(scale_suffixes().begin(), scale_suffixes().end(),
                     [&](const std::string& s) { return ends_with(name, s); });
}

// The quantization format a comfy_quant tensor names ({"format": "float8_e4m3fn"}).
std::string comfy_quant_format(const io::WeightStore& store, const std::string& name,
                               const std::filesystem::path& file) {
  const at::Tensor bytes = store.tensor(name).contiguous();
  const std::string text(static_cast<const char*>(bytes.data_ptr()), bytes.numel());
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  RAYVID_CHECK(j.is_object() && j.contains("format") && j["format"].is_string(), BadInput,
               "{}: {} is not ComfyUI quantization JSON ({{\"format\": ...}}); the file is damaged",
               file.string(), name);
  return j["format"].get<std::string>();
}

// The first of `prefixes` every name but the markers starts with, or "".
std::string common_prefix(const std::vector<std::string>& names,
                          const std::vector<std::string>& prefixes) {
  std::vector<std::string> model_names;
  for (const auto& n : names)
    if (!is_marker(n)) model_names.push_back(n);
  for (const auto& p : prefixes)
    if (!model_names.empty() && std::all_of(model_names.begin(), model_names.end(),
                                            [&](const auto& n) { return n.starts_with(p); }))
      return p;
  return "";
}

}  // namespace

std::vector<std::string> strip_common_prefix(std::vector<std::string> names,
                                             const std::vector<std::string>& prefixes) {
  const std::string prefix = common_prefix(names, prefixes);
  for (auto& n : names)
    if (n.starts_with(prefix)) n = n.substr(prefix.size());
  return names;
}

CheckpointSource CheckpointSource::open(const std::filesystem::path& file,
                                        const std::vector<std::string>& prefixes) {
  CheckpointSource s;
  s.file_ = file;
  s.store_ = io::WeightStore::open_file(file);
  const auto stored = s.store_.names();
  s.prefix_ = common_prefix(stored, prefixes);
  auto stripped = [&](const std::string& n) {
    return n.starts_with(s.prefix_) ? n.substr(s.prefix_.size()) : n;
  };

  // Which fp8 form: declared by the marker, any scale, or any comfy_quant.
  std::set<std::string> fp8;
  bool declares_scales = false, mixed = false;
  for (const auto& n : stored) {
    if (stripped(n) == "scaled_fp8") declares_scales = true;
    if (!is_marker(stripped(n)) && is_fp8(s.store_.info(n).dtype)) fp8.insert(n);
    if (ends_with(n, ".scale_weight")) declares_scales = true;
    if (ends_with(n, ".weight_scale") || ends_with(n, ".comfy_quant"))
      declares_scales = mixed = true;
  }
  if (!fp8.empty())
    s.scheme_ = !declares_scales ? Fp8Scheme::kUnscaled
                : mixed          ? Fp8Scheme::kScaledMixed
                                 : Fp8Scheme::kScaledLegacy;

  for (const auto& n : stored) {
    if (ends_with(n, ".comfy_quant")) {
      const std::string format = comfy_quant_format(s.store_, n, file);
      RAYVID_CHECK(format == "float8_e4m3fn" || format == "float8_e5m2", BadInput,
                   "{}: layer {} is quantized as '{}'; rayvid reads fp8 (float8_e4m3fn, "
                   "float8_e5m2) layers, not this format; use an fp8, fp16 or bf16 file",
                   file.string(), n.substr(0, n.size() - 12), format);
    }
  }
  for (const auto& w : fp8) {
    if (s.scheme_ == Fp8Scheme::kUnscaled) continue;
    RAYVID_CHECK(ends_with(w, ".weight"), BadInput,
                 "{}: {} is stored in fp8 but is not a Linear weight; fp8 checkpoints quantize "
                 "only `.weight` tensors, so the file is damaged or of an unknown kind",
                 file.string(), w);
    const std::string layer = layer_of(w);
    const std::string legacy = layer + ".scale_weight", current = layer + ".weight_scale";
    const std::string scale = s.store_.contains(current)  ? current
                              : s.store_.contains(legacy) ? legacy
                                                          : std::string();
    RAYVID_CHECK(!scale.empty(), BadInput,
                 "{}: {} is fp8 but has no {} although the file declares fp8 scales (ComfyUI "
                 "fp8_scaled); without its scale the weight is wrong by orders of magnitude (white "
                 "frames), so the file is refused. It is damaged or was converted without its "
                 "scales: download it again, or use the fp16/bf16 file",
                 file.string(), w, s.scheme_ == Fp8Scheme::kScaledMixed ? current : legacy);
    const auto& shape = s.store_.info(w).shape;
    const auto& scale_shape = s.store_.info(scale).shape;
    int64_t count = 1;
    for (int64_t d : scale_shape) count *= d;
    RAYVID_CHECK(count == 1 || (!shape.empty() && count == shape[0] && scale_shape[0] == shape[0]),
                 BadInput,
                 "{}: the scale {} has shape [{}]; an fp8 weight's scale is one value or one per "
                 "output row ({})",
                 file.string(), scale, fmt::join(scale_shape, ", "), shape.empty() ? 0 : shape[0]);
    s.scale_of_[w] = scale;
  }
  for (const auto& n : stored) {
    if (is_scale_or_marker(stripped(n))) {
      if (is_marker(stripped(n))) s.embedded_[stripped(n)] = n;
      continue;
    }
    s.visible_[stripped(n)] = n;
  }
  return s;
}

std::vector<std::string> CheckpointSource::names() const {
  std::vector<std::string> out;
  for (const auto& [name, stored] : visible_) out.push_back(name);
  return out;
}

std::optional<std::vector<int64_t>> CheckpointSource::shape(const std::string& name) const {
  const auto it = visible_.find(name);
  if (it == visible_.end()) return std::nullopt;
  return store_.info(it->second).shape;
}

std::optional<Fp8Weight> CheckpointSource::fp8_weight(const std::string& name) const {
  const auto it = visible_.find(name);
  if (it == visible_.end() || !is_fp8(store_.info(it->second).dtype)) return std::nullopt;
  Fp8Weight w{store_.tensor(it->second), {}};
  if (const auto s = scale_of_.find(it->second); s != scale_of_.end())
    w.scale = store_.tensor(s->second).to(at::kFloat);
  return w;
}

at::Tensor CheckpointSource::load(const std::string& name) const {
  const auto it = visible_.find(name);
  RAYVID_CHECK(it != visible_.end(), Internal, "{}: no tensor {}", file_.string(), name);
  const auto fp8 = fp8_weight(name);
  return fp8 ? dequantize_fp8(*fp8, at::kFloat) : store_.tensor(it->second);
}

std::optional<at::Tensor> CheckpointSource::embedded(const std::string& name) const {
  const auto it = embedded_.find(name);
  if (it == embedded_.end()) return std::nullopt;
  return store_.tensor(it->second);
}

std::string CheckpointSource::format() const {
  std::set<std::string> dtypes;
  for (const auto& [name, stored] : visible_) {
    const auto d = store_.info(stored).dtype;
    if (!is_fp8(d)) dtypes.insert(std::string(io::dtype_name(d)));
  }
  std::string plain;
  for (const auto& d : dtypes) plain += (plain.empty() ? "" : " + ") + d;
  switch (scheme_) {
    case Fp8Scheme::kNone:
      return plain;
    case Fp8Scheme::kUnscaled:
      return "fp8 (unscaled)" + (plain.empty() ? "" : " + " + plain);
    case Fp8Scheme::kScaledLegacy:
      return "fp8_scaled (ComfyUI scale_weight)" + (plain.empty() ? "" : " + " + plain);
    case Fp8Scheme::kScaledMixed:
      return "fp8 mixed precision (ComfyUI weight_scale)" + (plain.empty() ? "" : " + " + plain);
  }
  return plain;
}

}  // namespace rayvid::models
