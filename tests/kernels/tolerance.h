// The kernel tests' accuracy checks.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>

namespace rayvid::test {

// FlashAttention's criterion: the kernel's max error against the fp32 reference is at most twice
// that of the naive computation in the kernel's low-precision dtype.
inline void expect_within_twice_naive(const at::Tensor& out, const at::Tensor& ref32,
                                      const at::Tensor& naive) {
  ASSERT_FALSE(out.isnan().any().item<bool>())
      << out.isnan().sum().item<int64_t>() << " output elements were never written (NaN poison)";
  const double kernel_error = (out.to(at::kFloat) - ref32).abs().max().item<double>();
  const double naive_error = (naive.to(at::kFloat) - ref32).abs().max().item<double>();
  EXPECT_LE(kernel_error, 2.0 * naive_error + 1e-6)
      << "kernel max error " << kernel_error << ", naive " << naive_error;
  ::testing::Test::RecordProperty("kernel_max_error", std::to_string(kernel_error));
  ::testing::Test::RecordProperty("naive_max_error", std::to_string(naive_error));
}

// The yardstick of expect_within_twice_naive for attention (not a reference: the op's one
// reference is ops::attention_reference): softmax(q k^T * scale) v computed in q's dtype with no
// upcast. q: [B, Lq, H, D], k and v: [B, Lk, H, D] -> [B, Lq, H, D].
inline at::Tensor naive_attention_in_dtype(const at::Tensor& q, const at::Tensor& k,
                                           const at::Tensor& v, double scale) {
  const at::Tensor scores = at::matmul(q.transpose(1, 2), k.permute({0, 2, 3, 1})) * scale;
  return at::matmul(at::softmax(scores, -1), v.transpose(1, 2)).transpose(1, 2);
}

// Elementwise agreement within one unit in the last place of the 16-bit dtype (for kernels that
// follow the reference's rounding steps exactly up to fp32 summation order).
inline void expect_within_one_ulp(const at::Tensor& out, const at::Tensor& ref) {
  const double ulp = out.scalar_type() == at::kBFloat16 ? 1.0 / 128 : 1.0 / 1024;
  const at::Tensor diff = (out.to(at::kFloat) - ref.to(at::kFloat)).abs();
  const at::Tensor allowed = ref.to(at::kFloat).abs() * ulp + 1e-6;
  const int64_t bad = (diff > allowed).sum().item<int64_t>();
  EXPECT_EQ(bad, 0) << bad << " elements differ by more than one ulp; max diff "
                    << diff.max().item<double>();
}

}  // namespace rayvid::test
