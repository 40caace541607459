// Random weights for any model, without a checkpoint: what `rayvid bench --arch` and the
// benchmarks build the real architectures from. Speed and memory do not depend on the values, but
// activations should stay O(1) (no overflow, no denormals), so the draws are scaled like an
// initialisation: matrices and convolution kernels N(0, 1/fan_in), norm scales 1 + N(0, 0.1),
// biases N(0, 0.05), other vectors and tables N(0, 0.1).
#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>
#include <string>

#include "models/weights.h"

namespace rayvid::models {

class RandomWeightSource : public WeightSource {
 public:
  // Draws in the order the model takes its tensors; on the CPU one generator seeded with `seed`
  // makes the same weights every run. On CUDA the device's default generator is used (seeded
  // once here), so nothing is drawn on the host.
  explicit RandomWeightSource(uint64_t seed = 0);

  std::vector<std::string> names() const override { return {}; }
  std::optional<std::vector<int64_t>> shape(const std::string&) const override {
    return std::nullopt;
  }
  at::Tensor load(const std::string& name) const override;
  std::string label() const override { return "random weights"; }

  bool generates() const override { return true; }
  at::Tensor generate(const std::string& name, const std::vector<int64_t>& shape,
                      c10::ScalarType dtype, c10::Device device) const override;

 private:
  uint64_t seed_;
  mutable at::Generator cpu_generator_;
  mutable bool cuda_seeded_ = false;
};

}  // namespace rayvid::models
