// Binding of kernels/adaln: tensors -> LayerNormModulateParams / GatedResidualParams (see
// norms_cuda.h).
#include "ops/norms_cuda.h"

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "adaln/adaln.cuh"
#include "ops/cuda_binding_util.h"
#endif

namespace rayvid::ops {

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)

using namespace cuda_binding;

bool rayvid_layer_norm_modulate_cuda(const at::Tensor& x, const at::Tensor& shift,
                                     const at::Tensor& scale, double eps, at::Tensor& out) {
  kernels::LayerNormModulateParams p;
  if (x.dim() != 3 || !same_cuda_device({&x, &shift, &scale})) return false;
  if (!kernel_dtype(x.scalar_type(), &p.dtype) || shift.scalar_type() != at::kFloat ||
      scale.scalar_type() != at::kFloat) {
    return false;
  }
  if (x.size(2) % 8 != 0 || x.size(2) > 8192 || x.numel() == 0 || x.size(0) > 65535) return false;
  if (shift.dim() != 3 || scale.dim() != 3) return false;
  const at::Tensor shift_b = shift.expand(x.sizes()), scale_b = scale.expand(x.sizes());
  if (shift_b.strides() != scale_b.strides()) return false;
  if (!vector_friendly(x) || !vector_friendly(shift_b) || !vector_friendly(scale_b)) return false;
  if (!prepare_out(x, out)) return false;
  p.x = x.data_ptr(), p.shift = shift_b.data_ptr<float>(), p.scale = scale_b.data_ptr<float>();
  p.out = out.data_ptr();
  p.x_batch_stride = x.stride(0), p.x_row_stride = x.stride(1);
  p.mod_batch_stride = shift_b.stride(0), p.mod_row_stride = shift_b.stride(1);
  p.out_batch_stride = out.stride(0), p.out_row_stride = out.stride(1);
  p.batch = static_cast<int>(x.size(0)), p.len = static_cast<int>(x.size(1));
  p.dim = static_cast<int>(x.size(2)), p.eps = static_cast<float>(eps);
  const c10::cuda::CUDAGuard guard(x.device());
  check_launch(
      kernels::gpu::layer_norm_modulate_forward(p, at::cuda::getCurrentCUDAStream().stream()),
      "LayerNorm+AdaLN");
  return true;
}

bool rayvid_gated_residual_cuda(const at::Tensor& x, const at::Tensor& y, const at::Tensor& gate,
                                at::Tensor& out) {
  kernels::GatedResidualParams p;
  if (x.dim() != 3 || !same_cuda_device({&x, &y, &gate})) return false;
  if (!kernel_dtype(x.scalar_type(), &p.dtype) || y.scalar_type() != x.scalar_type() ||
      gate.scalar_type() != at::kFloat || y.sizes() != x.sizes() || gate.dim() != 3) {
    return false;
  }
  if (x.size(2) % 8 != 0 || x.numel() == 0 || x.size(0) > 65535 || x.size(1) > INT32_MAX)
    return false;
  const at::Tensor gate_b = gate.expand(x.sizes());
  if (!vector_friendly(x) || !vector_friendly(y) || !vector_friendly(gate_b)) return false;
  if (!prepare_out(x, out)) return false;
  p.x = x.data_ptr(), p.y = y.data_ptr(), p.gate = gate_b.data_ptr<float>(), p.out = out.data_ptr();
  p.x_batch_stride = x.stride(0), p.x_row_stride = x.stride(1);
  p.y_batch_stride = y.stride(0), p.y_row_stride = y.stride(1);
  p.gate_batch_stride = gate_b.stride(0), p.gate_row_stride = gate_b.stride(1);
  p.out_batch_stride = out.stride(0), p.out_row_stride = out.stride(1);
  p.batch = static_cast<int>(x.size(0)), p.len = static_cast<int>(x.size(1));
  p.dim = static_cast<int>(x.size(2));
  const c10::cuda::CUDAGuard guard(x.device());
  check_launch(kernels::gpu::gated_residual_forward(p, at::cuda::getCurrentCUDAStream().stream()),
               "gated residual");
  return true;
}

#else

bool rayvid_layer_norm_modulate_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                     double, at::Tensor&) {
  return false;
}

bool rayvid_gated_residual_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                at::Tensor&) {
  return false;
}

#endif

}  // namespace rayvid::ops
