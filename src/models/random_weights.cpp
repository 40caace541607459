// RandomWeightSource: see random_weights.h.
#include "models/random_weights.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <c10/util/accumulate.h>

#include <cmath>

#include "core/check.h"

namespace rayvid::models {
namespace {

// Norm scales ("norm.weight", "norm1.gamma" of shape [C] or [C, 1, 1, 1]) centre on 1, like a
// trained model's.
bool is_norm_scale(const std::string& name, const std::vector<int64_t>& shape) {
  const bool scale = name.ends_with(".weight") || name.ends_with(".gamma");
  return scale && name.find("norm") != std::string::npos && !shape.empty() &&
         c10::multiply_integers(shape) == shape[0];
}

// The standard deviation of this tensor's draw (see random_weights.h).
double draw_std(const std::string& name, const std::vector<int64_t>& shape) {
  const int64_t fan_in = shape.size() >= 2 ? c10::multiply_integers(shape) / shape[0] : 1;
  const bool is_table = name.find("scale_shift_table") != std::string::npos;
  if (fan_in > 1 && !is_table) return 1.0 / std::sqrt(static_cast<double>(fan_in));
  return name.ends_with(".bias") ? 0.05 : 0.1;
}

}  // namespace

RandomWeightSource::RandomWeightSource(uint64_t seed)
    : seed_(seed), cpu_generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

at::Tensor RandomWeightSource::load(const std::string& name) const {
  fail(ErrorCategory::kInternal, "random weights have no stored tensor {}; use generate()", name);
}

at::Tensor RandomWeightSource::generate(const std::string& name, const std::vector<int64_t>& shape,
                                        c10::ScalarType dtype, c10::Device device) const {
  const auto options = at::TensorOptions().dtype(dtype).device(device);
  at::Tensor t;
  if (device.is_cpu()) {
    t = at::randn(shape, cpu_generator_, options);  // drawn in its dtype: no fp32 temporaries
  } else {
    if (!cuda_seeded_) at::manual_seed(seed_), cuda_seeded_ = true;
    t = at::randn(shape, options);
  }
  if (is_norm_scale(name, shape)) return t.mul_(0.1).add_(1.0);
  return t.mul_(draw_std(name, shape));
  return t;
}

}  // namespace rayvid::models
