// Binding of kernels/rope3d on CUDA tensors (see norms_cuda.h); the Params filling is shared with
// the emulator binding (rope3d_params.h).
#include "ops/norms_cuda.h"

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "ops/rope3d_params.h"
#endif

namespace rayvid::ops {

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)

using namespace cuda_binding;

bool rayvid_rope3d_cuda(const at::Tensor& q, const at::Tensor& k, const at::Tensor& cos,
                        const at::Tensor& sin, at::Tensor& q_out, at::Tensor& k_out) {
  if (!same_cuda_device({&q, &k, &cos, &sin})) return false;
  kernels::Rope3DParams p;
  if (!fill_rope3d_params(q, k, cos, sin, q_out, k_out, &p)) return false;
  const c10::cuda::CUDAGuard guard(q.device());
  check_launch(kernels::gpu::rope3d_forward(p, at::cuda::getCurrentCUDAStream().stream()),
               "RoPE 3D");
  return true;
}

#else

bool rayvid_rope3d_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                        at::Tensor&, at::Tensor&) {
  return false;  // this build has no CUDA kernels
}

#endif

}  // namespace rayvid::ops
