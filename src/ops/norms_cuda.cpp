// Bindings of kernels/rms_norm, kernels/adaln and kernels/rope3d: tensors -> Params (see
// norms_cuda.h).
#include "ops/norms_cuda.h"

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "adaln/adaln.cuh"
#include "core/check.h"
#include "ops/cuda_binding_util.h"
#include "rms_norm/rms_norm.cuh"
#include "rope3d/rope3d.cuh"
#endif

namespace rayvid::ops {

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)
namespace {

using namespace cuda_binding;

// Allocates out like x when undefined; false when a given out does not fit.
bool prepare_out(const at::Tensor& x, at::Tensor& out) {
  if (!out.defined()) {
    out = at::empty_like(x, at::MemoryFormat::Contiguous);
    return true;
  }
  return out.sizes() == x.sizes() && out.scalar_type() == x.scalar_type() &&
         out.device() == x.device() && vector_friendly(out);
}

// The stride between consecutive rows of x viewed as [rows, C]; -1 when rows are not evenly
// spaced.
int64_t row_stride(const at::Tensor& x) {
  if (x.dim() < 2) return -1;
  for (int64_t d = 0; d + 2 < x.dim(); ++d) {
    if (x.size(d) > 1 && x.stride(d) != x.stride(d + 1) * x.size(d + 1)) return -1;
  }
  return x.stride(-2);
}

void check_launch(kernels::LaunchError error, const char* what) {
  RAYVID_CHECK(error == nullptr, Internal, "rayvid {} launch failed: {}", what, error);
}

void* stream_of(const at::Tensor& t) {
  return at::cuda::getCurrentCUDAStream(t.get_device()).stream();
}

}  // namespace

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
  check_launch(kernels::gpu::rms_norm_forward(p, stream_of(x)), "RMSNorm");
  return true;
}

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
  check_launch(kernels::gpu::layer_norm_modulate_forward(p, stream_of(x)), "LayerNorm+AdaLN");
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
  check_launch(kernels::gpu::gated_residual_forward(p, stream_of(x)), "gated residual");
  return true;
}

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
  check_launch(kernels::gpu::rope3d_forward(p, stream_of(q)), "RoPE 3D");
  return true;
}

#else

bool rayvid_rms_norm_cuda(const at::Tensor&, const at::Tensor&, double, at::Tensor&) {
  return false;  // this build has no CUDA kernels
}
bool rayvid_layer_norm_modulate_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                     double, at::Tensor&) {
  return false;
}
bool rayvid_gated_residual_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                at::Tensor&) {
  return false;
}
bool rayvid_rope3d_cuda(at::Tensor&, at::Tensor&, int64_t, int64_t, int64_t, double) {
  return false;
}

#endif

}  // namespace rayvid::ops
