// AdaLN modulation and gated residual: validation and backend dispatch (see modulation.h).
#include "ops/modulation.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include "core/check.h"
#include "ops/norms_cuda.h"
#include "ops/reference/modulation_reference.h"

namespace rayvid::ops {
namespace {

KernelPathLog g_modulate_paths("layer_norm_modulate", "ATen");
KernelPathLog g_residual_paths("gated_residual", "ATen");

void check_rows(const at::Tensor& x, const at::Tensor& rows, const char* what) {
  RAYVID_CHECK(x.dim() == 3 && rows.dim() == 3 && rows.size(0) == x.size(0) &&
                   rows.size(2) == x.size(2) && rows.size(1) > 0 && x.size(1) % rows.size(1) == 0,
               Internal, "{}: rows [{}] are not [B, G, C] timestep groups of x [{}]", what,
               fmt::join(rows.sizes(), ", "), fmt::join(x.sizes(), ", "));
  RAYVID_CHECK(rows.scalar_type() == at::kFloat && rows.device() == x.device(), Internal,
               "{}: modulation rows must be fp32 on x's device", what);
}

bool uses_kernel(KernelBackend backend) {
  return backend == KernelBackend::kRayvid || backend == KernelBackend::kEmu;
}

}  // namespace

KernelPathCounts layer_norm_modulate_path_counts() { return g_modulate_paths.counts(); }
KernelPathCounts gated_residual_path_counts() { return g_residual_paths.counts(); }

at::Tensor layer_norm_modulate(const at::Tensor& x, const at::Tensor& shift,
                               const at::Tensor& scale, double eps, KernelBackend backend) {
  check_rows(x, shift, "layer_norm_modulate");
  check_rows(x, scale, "layer_norm_modulate");
  if (uses_kernel(backend)) {
    const bool emulated = backend == KernelBackend::kEmu;
    at::Tensor out;
    if (emulated ? rayvid_layer_norm_modulate_emu(x, shift, scale, eps, out)
                 : rayvid_layer_norm_modulate_cuda(x, shift, scale, eps, out)) {
      g_modulate_paths.took_kernel(emulated);
      return out;
    }
    g_modulate_paths.took_fallback(emulated);
  }
  return layer_norm_modulate_reference(x, shift, scale, eps);
}

at::Tensor gated_residual(at::Tensor x, const at::Tensor& y, const at::Tensor& gate,
                          KernelBackend backend) {
  check_rows(x, gate, "gated_residual");
  RAYVID_CHECK(y.sizes() == x.sizes() && y.device() == x.device(), Internal,
               "gated_residual: y [{}] does not match x [{}]", fmt::join(y.sizes(), ", "),
               fmt::join(x.sizes(), ", "));
  if (uses_kernel(backend)) {
    const bool emulated = backend == KernelBackend::kEmu;
    if (emulated ? rayvid_gated_residual_emu(x, y, gate) : rayvid_gated_residual_cuda(x, y, gate)) {
      g_residual_paths.took_kernel(emulated);
      return x;
    }
    g_residual_paths.took_fallback(emulated);
  }
  if (x.scalar_type() == at::kFloat && x.is_contiguous()) {
    // fp32: the reference's sum, accumulated in place (one product rounding, one add).
    const int64_t groups = gate.size(1);
    x.view({x.size(0), groups, x.size(1) / groups, x.size(2)})
        .add_(y.reshape({y.size(0), groups, y.size(1) / groups, y.size(2)}) * gate.unsqueeze(2));
    return x;
  }
  return gated_residual_reference(x, y, gate);
}

}  // namespace rayvid::ops
