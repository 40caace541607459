// Binding of kernels/rms_norm: tensors -> RmsNormParams (see norms_cuda.h).
#include "ops/norms_cuda.h"

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "ops/cuda_binding_util.h"
#include "rms_norm/rms_norm.cuh"
#endif

namespace rayvid::ops {

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)

using namespace cuda_binding;

bool rayvid_rms_norm_cuda(const at::Tensor& x, const at::Tensor& weight, double eps,
                          at::Tensor& out) {
  kernels::RmsNormParams p;
  if (x.dim() < 2 || !same_cuda_device({&x, &weight}) || !kernel_dtype(x.scalar_type(), &p.dtype))
    return false;
  if (weight.scalar_type() != x.scalar_type() || weight.dim() != 1 || weight.size(0) != x.size(-1))
    return false;
  if (x.size(-1) % 8 != 0 || x.size(-1) > 8192 || x.numel() == 0) return false;
  if (!vector_friendly(x) || !vector_friendly(weight) || row_stride(x) < 0) return false;
  if (!prepare_out(x, out) || row_stride(out) < 0) return false;
  p.x = x.data_ptr(), p.weight = weight.data_ptr(), p.out = out.data_ptr();
  p.x_row_stride = row_stride(x), p.out_row_stride = row_stride(out);
  p.rows = x.numel() / x.size(-1), p.dim = static_cast<int>(x.size(-1));
  p.eps = static_cast<float>(eps);
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
