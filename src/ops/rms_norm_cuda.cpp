// Binding of kernels/rms_norm on CUDA tensors (see norms_cuda.h); the Params filling is shared with
// the emulator binding (rms_norm_params.h).
#include "ops/norms_cuda.h"

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "ops/rms_norm_params.h"
#endif

namespace rayvid::ops {

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)

using namespace cuda_binding;

bool rayvid_rms_norm_cuda(const at::Tensor& x, const at::Tensor& weight, double eps,
                          at::Tensor& out) {
  if (!same_cuda_device({&x, &weight})) return false;
  kernels::RmsNormParams p;
  if (!fill_rms_norm_params(x, weight, eps, out, &p)) return false;
  const c10::cuda::CUDAGuard guard(x.device());
  check_launch(kernels::gpu::rms_norm_forward(p, at::cuda::getCurrentCUDAStream().stream()),
               "RMSNorm");
  return true;
}

#else

bool rayvid_rms_norm_cuda(const at::Tensor&, const at::Tensor&, double, at::Tensor&) {
  return false;  // this build has no CUDA kernels
}

#endif

}  // namespace rayvid::ops
