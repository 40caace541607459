// fp8 weight storage: see fp8_weights.h.
#include "models/fp8_weights.h"

#include <ATen/ATen.h>

#include <vector>

namespace rayvid::models {

Fp8Weight quantize_fp8_rowwise(const at::Tensor& weight) {
  const at::Tensor w = weight.to(at::kFloat).flatten(1);                    // [out, in]
  const at::Tensor scale = w.abs().amax(1).clamp_min(1e-12) / kFp8E4m3Max;  // [out]
  return {(w / scale.unsqueeze(1)).to(at::kFloat8_e4m3fn).view(weight.sizes()), scale};
}

at::Tensor dequantize_fp8(const Fp8Weight& weight, c10::ScalarType dtype) {
  at::Tensor w = weight.data.to(at::kFloat);
  if (weight.scale.defined()) {
    std::vector<int64_t> view(w.dim(), 1);
    if (weight.scale.numel() > 1) view[0] = w.size(0);
    w = w * weight.scale.reshape(view);
  }
  return w.to(dtype);
}

bool is_fp8_dtype(c10::ScalarType dtype) {
  return dtype == at::kFloat8_e4m3fn || dtype == at::kFloat8_e5m2 ||
         dtype == at::kFloat8_e4m3fnuz || dtype == at::kFloat8_e5m2fnuz;
}

}  // namespace rayvid::models
