// Helpers shared by the CUDA kernel bindings (*_cuda.cpp): turn tensors into the plain pointers
// and strides of kernels/ Params, and decide whether a kernel applies.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <initializer_list>

#include "common/kernel_api.h"
#include "core/check.h"

namespace rayvid::ops::cuda_binding {

// The kernels' dtype for a 16-bit float tensor; false for anything else.
inline bool kernel_dtype(at::ScalarType t, kernels::DType* out) {
  if (t == at::kBFloat16) return *out = kernels::DType::kBFloat16, true;
  if (t == at::kHalf) return *out = kernels::DType::kFloat16, true;
  return false;
}

// The kernels load and store 16 bytes at a time: pointer and every stride (except the
// contiguous last one) must be multiples of 16 bytes.
inline bool vector_friendly(const at::Tensor& t) {
  if (!t.defined() || t.dim() == 0 || t.stride(-1) != 1) return false;
  const int64_t elems16 = 16 / static_cast<int64_t>(t.element_size());
  if (reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 != 0) return false;
  for (int64_t d = 0; d + 1 < t.dim(); ++d) {
    if (t.size(d) > 1 && t.stride(d) % elems16 != 0) return false;
  }
  return true;
}

// t's stride along d as a kernel should see it: 0 for a dimension of size 1, whose stride is never
// used to address and may be anything (LibTorch keeps whatever a view produced).
inline int64_t used_stride(const at::Tensor& t, int64_t d) {
  return t.size(d) == 1 ? 0 : t.stride(d);
}

inline bool same_cuda_device(std::initializer_list<const at::Tensor*> tensors) {
  const at::Tensor& first = **tensors.begin();
  if (!first.is_cuda()) return false;
  for (const at::Tensor* t : tensors) {
    if (!t->is_cuda() || t->device() != first.device()) return false;
  }
  return true;
}

// Allocates out like x when undefined; false when a given out does not fit.
inline bool prepare_out(const at::Tensor& x, at::Tensor& out) {
  if (!out.defined()) {
    out = at::empty_like(x, at::MemoryFormat::Contiguous);
    return true;
  }
  return out.sizes() == x.sizes() && out.scalar_type() == x.scalar_type() &&
         out.device() == x.device() && vector_friendly(out);
}

// The stride between consecutive rows of x viewed as [rows, C]; -1 when rows are not evenly
// spaced.
inline int64_t row_stride(const at::Tensor& x) {
  if (x.dim() < 2) return -1;
  for (int64_t d = 0; d + 2 < x.dim(); ++d) {
    if (x.size(d) > 1 && x.stride(d) != x.stride(d + 1) * x.size(d + 1)) return -1;
  }
  return x.stride(-2);
}

inline void check_launch(kernels::LaunchError error, const char* what) {
  RAYVID_CHECK(error == nullptr, Internal, "rayvid {} launch failed: {}", what, error);
}

}  // namespace rayvid::ops::cuda_binding
