// Binding of kernels/flash_attention on CUDA tensors (see attention_cuda.h); the Params come from
// flash_attention_params.h, shared with the emulator binding (flash_attention_emu.cpp).
#include "ops/attention_cuda.h"

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "core/check.h"
#include "ops/flash_attention_params.h"
#endif

namespace rayvid::ops {

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)

bool rayvid_attention_cuda(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           at::Tensor& out) {
  using namespace cuda_binding;
  if (!same_cuda_device({&q, &k, &v})) return false;
  kernels::FlashAttentionParams p;
  if (!fill_flash_attention_params(q, k, v, out, &p)) return false;
  const c10::cuda::CUDAGuard guard(q.device());
  const kernels::LaunchError error =
      kernels::gpu::flash_attention_forward(p, at::cuda::getCurrentCUDAStream().stream());
  RAYVID_CHECK(error == nullptr, Internal, "rayvid flash attention launch failed: {}", error);
  return true;
}

#else

bool rayvid_attention_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&, at::Tensor&) {
  return false;  // this build has no CUDA kernels
}

#endif

}  // namespace rayvid::ops
