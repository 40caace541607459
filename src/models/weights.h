// Strict, name-based weight loading shared by every model family.
//
// A model's Weights struct is filled by WeightLoader::take(name, shape): every tensor must exist
// with the expected shape. Problems are collected, not thrown one by one: finish() reports every
// missing, wrong-shape and unexpected tensor together, with expected and actual shapes, so a
// mismatched checkpoint is diagnosed in one run.
//
// Sources: a real checkpoint (io::WeightStore), shapes alone (ShapeOnlySource) to build a
// model's real architecture on the meta device and check its names and shapes without weights, or
// a source that makes every tensor the model asks for (RandomWeightSource, random_weights.h).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace rayvid::models {

// A Linear weight stored in float8_e4m3fn with its float32 scale: weight = data x scale, the
// scale one value ([]) or one per output row ([rows] or [rows, 1]); undefined = 1 (Kijai's
// unscaled files). See models/fp8_weights.h.
struct Fp8Weight {
  at::Tensor data;
  at::Tensor scale;
};

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual std::vector<std::string> names() const = 0;
  virtual std::optional<std::vector<int64_t>> shape(const std::string& name) const = 0;
  virtual at::Tensor load(const std::string& name) const = 0;  // CPU, checkpoint dtype
  virtual std::string label() const = 0;
  // The stored fp8 form of `name` when the checkpoint holds it in fp8 (load() dequantizes it).
  virtual std::optional<Fp8Weight> fp8_weight(const std::string&) const { return std::nullopt; }

  // A generating source has no list of names: WeightLoader asks it for every tensor the model
  // takes, with the model's own shape and dtype, and finish() has nothing to compare.
  virtual bool generates() const { return false; }
  virtual at::Tensor generate(const std::string& name, const std::vector<int64_t>& shape,
                              c10::ScalarType dtype, c10::Device device) const;
};

class StoreSource : public WeightSource {
 public:
  StoreSource(io::WeightStore store, std::string label);
  std::vector<std::string> names() const override { return store_.names(); }
  std::optional<std::vector<int64_t>> shape(const std::string& name) const override;
  at::Tensor load(const std::string& name) const override { return store_.tensor(name); }
  std::string label() const override { return label_; }
  const io::WeightStore& store() const { return store_; }

 private:
  io::WeightStore store_;
  std::string label_;
};

// Names and shapes only; load() returns an empty tensor of that shape on the meta device.
class ShapeOnlySource : public WeightSource {
 public:
  ShapeOnlySource(std::map<std::string, std::vector<int64_t>> shapes, std::string label);
  std::vector<std::string> names() const override;
  std::optional<std::vector<int64_t>> shape(const std::string& name) const override;
  at::Tensor load(const std::string& name) const override;
  std::string label() const override { return label_; }

 private:
  std::map<std::string, std::vector<int64_t>> shapes_;
  std::string label_;
};

// Translates checkpoint names from another dialect (e.g. the original Wan repos) to the canonical
// diffusers/transformers names. Returns std::nullopt for names it does not know.
using NameTranslator = std::function<std::optional<std::string>(const std::string&)>;

class WeightLoader {
 public:
  // `device`/`dtype`: where and in which dtype floating-point tensors end up (integer and bool
  // tensors keep their dtype). A translator, if given, maps source names to canonical names.
  WeightLoader(const WeightSource& source, c10::Device device, c10::ScalarType dtype,
               NameTranslator translator = nullptr);

  // The tensor named `name` (canonical), which must have exactly `shape`. On a problem the
  // returned tensor is undefined and the problem is recorded for finish().
  at::Tensor take(const std::string& name, const std::vector<int64_t>& shape);
  // Like take(), but keeps this tensor in `dtype` (for fp32 islands such as norms and tables).
  at::Tensor take(const std::string& name, const std::vector<int64_t>& shape,
                  c10::ScalarType dtype);
  // A Linear weight kept in fp8 on `device`: the checkpoint's own fp8 form (with its scale) when
  // it stores one, else the tensor quantized here (quantize_fp8_rowwise). Shape-checked as take().
  Fp8Weight take_fp8(const std::string& name, const std::vector<int64_t>& shape);
  // True if the checkpoint has this canonical name (for optional parts, e.g. biases).
  bool has(const std::string& name) const;

  // Throws one kBadInput error listing every missing, wrong-shape and unexpected tensor.
  void finish() const;
  // Every canonical name taken so far, with its shape (for architecture tests).
  const std::map<std::string, std::vector<int64_t>>& taken() const { return taken_; }

 private:
  // The source's name of canonical `name` when it has one of `shape`; else records the problem.
  const std::string* stored_name(const std::string& name, const std::vector<int64_t>& shape);
  bool check_floating(const std::string& name, const at::Tensor& tensor);

  const WeightSource& source_;
  c10::Device device_;
  c10::ScalarType dtype_;
  std::map<std::string, std::string> canonical_to_source_;
  std::map<std::string, std::vector<int64_t>> taken_;
  std::vector<std::string> problems_;
};

}  // namespace rayvid::models
