// ops::rms_norm against the formula written out per row, and against its reference, for
// widths 1, 7, 33, 130 and 1536, fp32 and bf16; backend emu through the kernel on the emulator.
#include "ops/rms_norm.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <utility>

#include "ops/norms_cuda.h"
#include "ops/reference/rms_norm_reference.h"
#include "support/golden.h"

namespace rayvid::ops {
namespace {

constexpr KernelBackend kAten = KernelBackend::kAten;

// y[r, c] = x[r, c] / √(Σ_c x[r, c]² / C + eps) · w[c]
at::Tensor rms_norm_by_loops(const at::Tensor& x_in, const at::Tensor& w_in, double eps) {
  const at::Tensor x = x_in.to(at::kDouble).reshape({-1, x_in.size(-1)}).contiguous();
  const at::Tensor w = w_in.to(at::kDouble).contiguous();
  at::Tensor out = at::empty_like(x);
  auto xa = x.accessor<double, 2>();
  auto wa = w.accessor<double, 1>();
  auto oa = out.accessor<double, 2>();
  const int64_t C = x.size(1);
  for (int64_t r = 0; r < x.size(0); ++r) {
    double sum_squares = 0;
    for (int64_t c = 0; c < C; ++c) sum_squares += xa[r][c] * xa[r][c];
    const double inv = 1.0 / std::sqrt(sum_squares / C + eps);
    for (int64_t c = 0; c < C; ++c) oa[r][c] = xa[r][c] * inv * wa[c];
  }
  return out.view(x_in.sizes());
}

TEST(RmsNorm, MatchesLoops) {
  for (auto dtype : {at::kFloat, at::kBFloat16})
    for (int64_t width : {1, 7, 33, 130, 1536}) {
      SCOPED_TRACE(::testing::Message() << c10::toString(dtype) << " width " << width);
      const at::Tensor x = (at::randn({2, 5, width}) * 3).to(dtype);
      const at::Tensor w = (at::randn({width}) * 0.1 + 1).to(dtype);
      const at::Tensor out = rms_norm(x, w, 1e-6, kAten);
      EXPECT_EQ(out.scalar_type(), dtype);
      const double tolerance = dtype == at::kFloat ? 1e-6 : 1e-2;
      EXPECT_TRUE(test::close_to(out, rms_norm_by_loops(x, w, 1e-6), tolerance));
      EXPECT_TRUE(
          test::close_to(rms_norm_reference(x, w, 1e-6), rms_norm_by_loops(x, w, 1e-6), tolerance));
      // The dispatch target has the reference's roundings exactly (one rounding, fp32 math).
      EXPECT_TRUE(at::equal(out, rms_norm_reference(x, w, 1e-6)));
    }
}

TEST(RmsNorm, EpsMattersForTinyRows) {
  const at::Tensor x = at::full({1, 4}, 1e-4);
  const at::Tensor w = at::ones({4});
  EXPECT_TRUE(test::close_to(rms_norm(x, w, 1e-6, kAten), rms_norm_by_loops(x, w, 1e-6), 1e-6));
  EXPECT_LT(rms_norm(x, w, 1e-6, kAten)[0][0].item<double>(), 0.1);
}

TEST(RmsNorm, MixedWeightDtypeUsesTheReference) {
  const at::Tensor x = at::randn({3, 33}).to(at::kBFloat16);
  const at::Tensor w = at::randn({33});
  EXPECT_TRUE(at::equal(rms_norm(x, w, 1e-6, kAten), rms_norm_reference(x, w, 1e-6)));
}

// Backend emu runs kernels/rms_norm on the CPU emulator where it applies (bf16/fp16, C a multiple
// of 8): within one ulp of the reference (the same single rounding, fp32 summation order aside),
// counted as kernel calls; elsewhere the ATen path, counted as fallbacks. rayvid on CPU tensors
// always falls back.
TEST(RmsNorm, EmuBackendRunsTheKernelWhereItApplies) {
  for (auto dtype : {at::kBFloat16, at::kHalf})
    for (int64_t width : {8, 136, 1536}) {
      SCOPED_TRACE(::testing::Message() << c10::toString(dtype) << " width " << width);
      const at::Tensor x = (at::randn({2, 5, width}) * 3 + 0.5).to(dtype);
      const at::Tensor w = (at::rand({width}) + 0.5).to(dtype);
      const KernelPathCounts before = rms_norm_path_counts();
      const uint64_t launches = rayvid_rms_norm_emu_launches();
      const at::Tensor out = rms_norm(x, w, 1e-6, KernelBackend::kEmu);
      EXPECT_EQ(rayvid_rms_norm_emu_launches(), launches + 1);
      EXPECT_EQ(rms_norm_path_counts().kernel, before.kernel + 1);
      EXPECT_EQ(rms_norm_path_counts().fallback, before.fallback);
      EXPECT_EQ(out.scalar_type(), dtype);
      const at::Tensor ref = rms_norm_reference(x, w, 1e-6).to(at::kFloat);
      const double ulp = dtype == at::kBFloat16 ? 1.0 / 128 : 1.0 / 1024;
      EXPECT_TRUE(((out.to(at::kFloat) - ref).abs() <= ref.abs() * ulp + 1e-6).all().item<bool>());
    }
  for (const auto& [x, w] :
       {std::pair{at::randn({3, 16}), at::randn({16})},
        std::pair{at::randn({3, 33}).to(at::kBFloat16), at::randn({33}).to(at::kBFloat16)}}) {
    const KernelPathCounts before = rms_norm_path_counts();
    const uint64_t launches = rayvid_rms_norm_emu_launches();
    EXPECT_TRUE(at::equal(rms_norm(x, w, 1e-6, KernelBackend::kEmu), rms_norm(x, w, 1e-6, kAten)));
    EXPECT_TRUE(
        at::equal(rms_norm(x, w, 1e-6, KernelBackend::kRayvid), rms_norm(x, w, 1e-6, kAten)));
    EXPECT_EQ(rayvid_rms_norm_emu_launches(), launches);
    EXPECT_EQ(rms_norm_path_counts().kernel, before.kernel);
    EXPECT_EQ(rms_norm_path_counts().fallback, before.fallback + 2);
  }
}

TEST(RmsNorm, RefusesWrongWeight) {
  EXPECT_THROW(rms_norm(at::zeros({2, 8}), at::ones({7}), 1e-6, kAten), Error);
}

}  // namespace
}  // namespace rayvid::ops
