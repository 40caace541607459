// Binding of kernels/rope3d: tensors -> Rope3DParams (see norms_cuda.h).
#include "ops/norms_cuda.h"

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "ops/cuda_binding_util.h"
#include "rope3d/rope3d.cuh"
#endif

namespace rayvid::ops {

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)

using namespace cuda_binding;

bool rayvid_rope3d_cuda(at::Tensor& q, at::Tensor& k, int64_t grid_f, int64_t grid_h,
                        int64_t grid_w, double theta) {
  kernels::Rope3DParams p;
  if (q.dim() != 4 || k.sizes() != q.sizes() || k.scalar_type() != q.scalar_type()) return false;
  if (!same_cuda_device({&q, &k}) || !kernel_dtype(q.scalar_type(), &p.dtype)) return false;
  if (grid_f <= 0 || grid_h <= 0 || grid_w <= 0 || grid_f * grid_h * grid_w != q.size(1)) {
    return false;
  }
  if (q.size(3) % 8 != 0 || q.size(3) > 256 || q.size(0) > 65535 || q.size(1) > INT32_MAX)
    return false;
  if (!vector_friendly(q) || !vector_friendly(k)) return false;
  const at::Tensor* tensors[2] = {&q, &k};
  for (int i = 0; i < 2; ++i) {
    const at::Tensor& t = *tensors[i];
    kernels::Rope3DTensor& kt = p.tensors[i];
    kt.in = t.data_ptr(), kt.out = t.data_ptr();
    kt.in_batch_stride = kt.out_batch_stride = t.stride(0);
    kt.in_row_stride = kt.out_row_stride = t.stride(1);
    kt.in_head_stride = kt.out_head_stride = t.stride(2);
  }
  p.num_tensors = 2, p.batch = static_cast<int>(q.size(0));
  p.grid_f = static_cast<int>(grid_f), p.grid_h = static_cast<int>(grid_h);
  p.grid_w = static_cast<int>(grid_w), p.heads = static_cast<int>(q.size(2));
  p.head_dim = static_cast<int>(q.size(3)), p.theta = theta;
  const c10::cuda::CUDAGuard guard(q.device());
  check_launch(kernels::gpu::rope3d_forward(p, at::cuda::getCurrentCUDAStream().stream()),
               "RoPE 3D");
  return true;
}

#else

bool rayvid_rope3d_cuda(at::Tensor&, at::Tensor&, int64_t, int64_t, int64_t, double) {
  return false;
}

#endif

}  // namespace rayvid::ops
