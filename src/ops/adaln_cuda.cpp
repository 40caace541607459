// Binding of kernels/adaln on CUDA tensors (see norms_cuda.h); the Params filling is shared with
// the emulator binding (modulation_params.h).
#include "ops/norms_cuda.h"

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "ops/modulation_params.h"
#endif

namespace rayvid::ops {

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)

using namespace cuda_binding;

bool rayvid_layer_norm_modulate_cuda(const at::Tensor& x, const at::Tensor& shift,
                                     const at::Tensor& scale, double eps, at::Tensor& out) {
  if (!same_cuda_device({&x, &shift, &scale})) return false;
  kernels::LayerNormModulateParams p;
  if (!fill_layer_norm_modulate_params(x, shift, scale, eps, out, &p)) return false;
  const c10::cuda::CUDAGuard guard(x.device());
  check_launch(
      kernels::gpu::layer_norm_modulate_forward(p, at::cuda::getCurrentCUDAStream().stream()),
      "LayerNorm+AdaLN");
  return true;
}

bool rayvid_gated_residual_cuda(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate) {
  if (!same_cuda_device({&x, &y, &gate})) return false;
  kernels::GatedResidualParams p;
  if (!fill_gated_residual_params(x, y, gate, &p)) return false;
  const c10::cuda::CUDAGuard guard(x.device());
  check_launch(kernels::gpu::gated_residual_forward(p, at::cuda::getCurrentCUDAStream().stream()),
               "gated residual");
  return true;
}

#else

bool rayvid_layer_norm_modulate_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                     double, at::Tensor&) {
  return false;  // this build has no CUDA kernels
}

bool rayvid_gated_residual_cuda(at::Tensor&, const at::Tensor&, const at::Tensor&) { return false; }

#endif

}  // namespace rayvid::ops
