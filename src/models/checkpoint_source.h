// A single-file checkpoint as users download it (ComfyUI's repackaged files, Kijai's, the original
// Wan releases): one safetensors file whose tensor names may sit under a wrapper prefix
// (`model.diffusion_model.`), and whose Linear weights may be stored in fp8, with or without
// scales. CheckpointSource presents it as the plain tensors a model's loader asks for: the prefix
// is gone, the scale and marker tensors are hidden, and an fp8 weight loads dequantized
// (fp32 = fp8 value x scale). ComfyUI's embedded `spiece_model` is hidden too (see embedded()).
//
// The fp8 forms, as their writers define them:
//   fp8_e4m3fn / fp8_e5m2 (Kijai)   fp8 weights, no scales: the value is the weight.
//   fp8_scaled (ComfyUI, legacy)     a top-level `scaled_fp8` marker; each fp8 `X.weight` has a
//                                    float32 `X.scale_weight` (and maybe `X.scale_input`, which
//                                    only an fp8 matmul reads).
//   mixed precision (ComfyUI, new)   `X.weight_scale` / `X.input_scale`, and a `X.comfy_quant`
//                                    uint8 tensor holding JSON ({"format": "float8_e4m3fn"}).
// A scale is a scalar or one value per output row. A file that declares scales (the marker, any
// weight scale, any comfy_quant) must have one for every fp8 weight (stricter than ComfyUI, which
// takes a missing scale_weight as 1): without it the weight is off by
// the scale (about 1e-3 in ComfyUI's umT5: white frames), so such a file is refused, never run.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "models/weights.h"

namespace rayvid::models {

enum class Fp8Scheme {
  kNone,          // no fp8 tensors
  kUnscaled,      // fp8 values are the weights
  kScaledLegacy,  // scaled_fp8 marker / scale_weight
  kScaledMixed,   // weight_scale (+ comfy_quant)
};

// The names as a CheckpointSource over them would show them: the first of `prefixes` that every
// name (ComfyUI's markers aside) carries stripped. Reads nothing but the names, so a caller can
// decide what a file is before opening it (which validates its fp8 form).
std::vector<std::string> strip_common_prefix(std::vector<std::string> names,
                                             const std::vector<std::string>& prefixes);

class CheckpointSource : public WeightSource {
 public:
  // `prefixes`: wrappers to strip, tried in order; one is stripped when every tensor name (the
  // marker aside) starts with it. Validates the fp8 form (see above); kBadInput names the file,
  // the first weight without a scale and what to do.
  static CheckpointSource open(const std::filesystem::path& file,
                               const std::vector<std::string>& prefixes);

  std::vector<std::string> names() const override;  // stripped, scales and markers hidden
  std::optional<std::vector<int64_t>> shape(const std::string& name) const override;
  at::Tensor load(const std::string& name) const override;  // fp8: dequantized to fp32
  std::string label() const override { return file_.string(); }

  Fp8Scheme fp8_scheme() const { return scheme_; }
  // "fp8_scaled (ComfyUI scale_weight) + F16", "fp8 (unscaled) + BF16", "F32", ...
  std::string format() const;
  const std::string& stripped_prefix() const { return prefix_; }
  // A non-weight tensor the file carries (ComfyUI's umT5 files: `spiece_model`, the SentencePiece
  // model as bytes), by its stored name; hidden from names().
  std::optional<at::Tensor> embedded(const std::string& name) const;
  // The stored form of an fp8 weight (for fp8 storage), or nullopt when `name` is not fp8.
  std::optional<Fp8Weight> fp8_weight(const std::string& name) const override;

 private:
  std::filesystem::path file_;
  io::WeightStore store_;
  std::string prefix_;
  Fp8Scheme scheme_ = Fp8Scheme::kNone;
  std::map<std::string, std::string> visible_;   // stripped name -> stored name
  std::map<std::string, std::string> scale_of_;  // stored fp8 weight name -> stored scale name
  std::map<std::string, std::string> embedded_;  // stripped marker name -> stored name
};

}  // namespace rayvid::models
