// The src/ops bindings of the kernels decline (return false, leave `out` alone) whatever their
// kernel cannot take, so the ops fall back to ATen. CPU tensors are always declined; on a GPU the
// attention binding also runs and matches the reference.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "kernel_backend.h"
#include "ops/attention_cuda.h"
#include "ops/norms_cuda.h"
#include "ops/reference/attention_reference.h"

namespace rayvid::test {
namespace {

TEST(KernelBindings, DeclineCpuTensors) {
  const at::Tensor q = at::randn({1, 8, 2, 64}).to(at::kBFloat16);  // [B, L, H, D]
  at::Tensor out;
  EXPECT_FALSE(ops::rayvid_attention_cuda(q, q, q, out));
  EXPECT_FALSE(out.defined());
  const at::Tensor x = at::randn({1, 8, 64}).to(at::kBFloat16);  // [B, L, C]
  const at::Tensor w = at::ones({64}, at::kBFloat16), mod = at::zeros({1, 1, 64});
  EXPECT_FALSE(ops::rayvid_rms_norm_cuda(x, w, 1e-6, out));
  EXPECT_FALSE(ops::rayvid_layer_norm_modulate_cuda(x, mod, mod, 1e-6, out));
  at::Tensor residual = x.clone();
  EXPECT_FALSE(ops::rayvid_gated_residual_cuda(residual, x, mod));
  EXPECT_TRUE(at::equal(residual, x));
  const at::Tensor table = at::ones({8, 32});  // [L, head_dim / 2]
  at::Tensor q_out, k_out;
  EXPECT_FALSE(ops::rayvid_rope3d_cuda(q, q, table, table, q_out, k_out));
  EXPECT_FALSE(out.defined() || q_out.defined() || k_out.defined());
}

#if defined(RAYVID_KERNEL_TEST_GPU) && defined(RAYVID_TORCH_HAS_CUDA)
TEST(KernelBindings, AttentionOnCudaTensorsMatchesReference) {
  RAYVID_REQUIRE_BACKEND();
  if (!at::hasCUDA()) GTEST_SKIP() << "needs a GPU";
  const auto opts = at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA);
  const at::Tensor q = at::randn({2, 100, 3, 128}, opts), k = at::randn({2, 77, 3, 128}, opts);
  const at::Tensor v = at::randn({2, 77, 3, 128}, opts);
  at::Tensor out;
  ASSERT_TRUE(ops::rayvid_attention_cuda(q, k, v, out));
  const at::Tensor ref = ops::attention_reference(q.cpu().to(at::kFloat), k.cpu().to(at::kFloat),
                                                  v.cpu().to(at::kFloat));
  EXPECT_LT((out.cpu().to(at::kFloat) - ref).abs().max().item<double>(), 2e-2);
}
#endif

}  // namespace
}  // namespace rayvid::test
