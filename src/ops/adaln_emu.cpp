// Binding of kernels/adaln on CPU tensors through the CPU emulator (backend `emu`, see
// norms_cuda.h): the same kernel source and Params (modulation_params.h) as the CUDA path. As in
// rms_norm_emu.cpp, this file asks for the emulator's declarations itself.
#define RAYVID_KERNELS_EMU 1
#include "ops/norms_cuda.h"

#include "core/check.h"
#include "ops/modulation_params.h"

namespace rayvid::ops {

bool rayvid_layer_norm_modulate_emu(const at::Tensor& x, const at::Tensor& shift,
                                    const at::Tensor& scale, double eps, at::Tensor& out) {
  using namespace cuda_binding;
  if (!x.device().is_cpu() || !shift.device().is_cpu() || !scale.device().is_cpu()) return false;
  kernels::LayerNormModulateParams p;
  if (!fill_layer_norm_modulate_params(x, shift, scale, eps, out, &p)) return false;
  check_launch(kernels::emu::layer_norm_modulate_forward(p, nullptr), "LayerNorm+AdaLN (emulator)");
  return true;
}

bool rayvid_gated_residual_emu(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate) {
  using namespace cuda_binding;
  if (!x.device().is_cpu() || !y.device().is_cpu() || !gate.device().is_cpu()) return false;
  kernels::GatedResidualParams p;
  if (!fill_gated_residual_params(x, y, gate, &p)) return false;
  check_launch(kernels::emu::gated_residual_forward(p, nullptr), "gated residual (emulator)");
  return true;
}

}  // namespace rayvid::ops
