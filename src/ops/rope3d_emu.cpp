// Binding of kernels/rope3d on CPU tensors through the CPU emulator (backend `emu`, see
// norms_cuda.h): the same kernel source and Params (rope3d_params.h) as the CUDA path. As in
// rms_norm_emu.cpp, this file asks for the emulator's declarations itself.
#define RAYVID_KERNELS_EMU 1
#include "ops/norms_cuda.h"

#include "core/check.h"
#include "ops/rope3d_params.h"

namespace rayvid::ops {

bool rayvid_rope3d_emu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& cos,
                       const at::Tensor& sin, at::Tensor& q_out, at::Tensor& k_out) {
  using namespace cuda_binding;
  for (const at::Tensor* t : {&q, &k, &cos, &sin}) {
    if (!t->device().is_cpu()) return false;
  }
  kernels::Rope3DParams p;
  if (!fill_rope3d_params(q, k, cos, sin, q_out, k_out, &p)) return false;
  check_launch(kernels::emu::rope3d_forward(p, nullptr), "RoPE 3D (emulator)");
  return true;
}

}  // namespace rayvid::ops
