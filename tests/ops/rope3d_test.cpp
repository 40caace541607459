// ops::rope3d against the rotation written out per token and per pair, for grids whose token
// counts are 1, 7, 33 and 130, head dims 32 and 128, fp32 and bf16.
#include "ops/rope3d.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "support/golden.h"

namespace rayvid::ops {
namespace {

// Token (f, h, w) of grid (F, H, W) is index (f·H + h)·W + w. Head dim D splits into frame,
// row and column slices of D − 4⌊D/6⌋, 2⌊D/6⌋, 2⌊D/6⌋ dims; pair j of a slice of n dims turns by
// position · 10000^(−2j/n).
at::Tensor rope_by_loops(const at::Tensor& x_in, const std::array<int64_t, 3>& grid) {
  const at::Tensor x = x_in.to(at::kDouble).contiguous();
  const int64_t B = x.size(0), L = x.size(1), heads = x.size(2), D = x.size(3);
  const int64_t row_dims = 2 * (D / 6), frame_dims = D - 2 * row_dims;
  const int64_t slice_dims[3] = {frame_dims, row_dims, row_dims};
  at::Tensor out = at::empty_like(x);
  auto xa = x.accessor<double, 4>();
  auto oa = out.accessor<double, 4>();
  for (int64_t token = 0; token < L; ++token) {
    const int64_t pos[3] = {token / (grid[1] * grid[2]), (token / grid[2]) % grid[1],
                            token % grid[2]};
    int64_t dim = 0;
    for (int axis = 0; axis < 3; ++axis)
      for (int64_t j = 0; j < slice_dims[axis] / 2; ++j, dim += 2) {
        const double angle =
            pos[axis] * std::pow(10000.0, -2.0 * j / static_cast<double>(slice_dims[axis]));
        for (int64_t b = 0; b < B; ++b)
          for (int64_t h = 0; h < heads; ++h) {
            const double a = xa[b][token][h][dim], c = xa[b][token][h][dim + 1];
            oa[b][token][h][dim] = a * std::cos(angle) - c * std::sin(angle);
            oa[b][token][h][dim + 1] = a * std::sin(angle) + c * std::cos(angle);
          }
      }
  }
  return out;
}

// One tensor through the q/k op.
at::Tensor rope3d(const at::Tensor& x, const Rope3DTable& table,
                  KernelBackend backend = KernelBackend::kAten) {
  return ops::rope3d(x, x, table, backend).q;
}

constexpr std::array<int64_t, 3> kGrids[] = {
    {1, 1, 1}, {1, 1, 7}, {3, 11, 1}, {2, 5, 13}, {21, 3, 2}};

TEST(Rope3D, AxisSplitFollowsDiffusers) {
  EXPECT_EQ(rope3d_axis_dims(128), (std::array<int64_t, 3>{44, 42, 42}));
  EXPECT_EQ(rope3d_axis_dims(32), (std::array<int64_t, 3>{12, 10, 10}));
  EXPECT_EQ(rope3d_axis_dims(64), (std::array<int64_t, 3>{24, 20, 20}));
}

TEST(Rope3D, MatchesLoopsFp32) {
  uint64_t seed = 11;
  for (int64_t head_dim : {32, 128})
    for (const auto& grid : kGrids) {
      SCOPED_TRACE(::testing::Message() << "head_dim " << head_dim << " grid " << grid[0] << "x"
                                        << grid[1] << "x" << grid[2]);
      const int64_t L = grid[0] * grid[1] * grid[2];
      const Rope3DTable table = make_rope3d_table(head_dim, grid, 10000.0, c10::kCPU);
      EXPECT_EQ(table.cos.sizes(), (std::vector<int64_t>{L, head_dim / 2}));
      const at::Tensor x =
          at::randn({2, L, 3, head_dim}, at::make_generator<at::CPUGeneratorImpl>(seed++));
      EXPECT_TRUE(test::close_to(rope3d(x, table), rope_by_loops(x, grid), 1e-6));
    }
}

TEST(Rope3D, Bf16RotatesInFp32AndRoundsOnce) {
  const std::array<int64_t, 3> grid = {2, 5, 13};
  const Rope3DTable table = make_rope3d_table(128, grid, 10000.0, c10::kCPU);
  const at::Tensor x = at::randn({1, 130, 2, 128}).to(at::kBFloat16);
  const at::Tensor out = rope3d(x, table);
  EXPECT_EQ(out.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(out, rope3d(x.to(at::kFloat), table).to(at::kBFloat16)));
  EXPECT_TRUE(test::close_to(out, rope_by_loops(x, grid), 1e-2));
}

// The kernel (kernels/rope3d, here on the CPU emulator) rounds as the reference does: the emu
// backend gives the aten result bit for bit on bf16 and fp16 q and k (different values, so a
// swapped q/k shows), and runs the reference for what it does not cover (fp32).
TEST(Rope3D, EmulatedKernelIsBitIdenticalToTheReference) {
  const std::array<int64_t, 3> grid = {3, 5, 7};
  for (int64_t head_dim : {64, 128, 40})
    for (auto dtype : {at::kBFloat16, at::kHalf}) {
      SCOPED_TRACE(::testing::Message() << "head_dim " << head_dim << " " << dtype);
      const Rope3DTable table = make_rope3d_table(head_dim, grid, 10000.0, c10::kCPU);
      // q and k as views of a packed projection [B, L, 2, heads, D].
      const at::Tensor qk = at::randn({2, 105, 2, 3, head_dim}).to(dtype);
      const at::Tensor q = qk.select(2, 0), k = qk.select(2, 1);
      const KernelPathCounts before = rope3d_path_counts();
      const RotatedQK emu = ops::rope3d(q, k, table, KernelBackend::kEmu);
      EXPECT_EQ(rope3d_path_counts().kernel, before.kernel + 1);
      const RotatedQK aten = ops::rope3d(q, k, table, KernelBackend::kAten);
      EXPECT_TRUE(at::equal(emu.q, aten.q));
      EXPECT_TRUE(at::equal(emu.k, aten.k));
      EXPECT_FALSE(at::equal(emu.q, emu.k));
    }
  const Rope3DTable table = make_rope3d_table(64, grid, 10000.0, c10::kCPU);
  const at::Tensor x = at::randn({1, 105, 2, 64});
  const KernelPathCounts before = rope3d_path_counts();
  EXPECT_TRUE(at::equal(rope3d(x, table, KernelBackend::kEmu), rope3d(x, table)));
  EXPECT_EQ(rope3d_path_counts().fallback, before.fallback + 1) << "fp32 is not the kernel's";
}

TEST(Rope3D, RefusesMismatchedTable) {
  const Rope3DTable table = make_rope3d_table(32, {1, 2, 3}, 10000.0, c10::kCPU);
  EXPECT_THROW(rope3d(at::zeros({1, 7, 2, 32}), table), Error);
  EXPECT_THROW(rope3d(at::zeros({1, 6, 2, 64}), table), Error);
}

}  // namespace
}  // namespace rayvid::ops
