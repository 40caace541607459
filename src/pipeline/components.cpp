// Defaults of the component interfaces (see components.h): a denoiser without block caching.
#include "pipeline/components.h"

#include "core/check.h"

namespace rayvid::pipeline {

void Denoiser::set_control(const at::Tensor&, double) {
  fail(ErrorCategory::kUnsupported, "this transformer takes no VACE control states");
}

at::Tensor Denoiser::forward_cached(const at::Tensor&, const at::Tensor&, BlockCaching, double) {
  fail(ErrorCategory::kUnsupported, "this transformer does not support step caching");
}

at::Tensor Denoiser::time_embedding(double, bool) {
  fail(ErrorCategory::kUnsupported, "this transformer does not expose its timestep embedding");
}

}  // namespace rayvid::pipeline
