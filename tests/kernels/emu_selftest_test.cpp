// Emulator self-tests: each part of the emulator (barriers, static and dynamic shared memory, warp
// shuffles, mma.sync and ldmatrix fragment layouts, cp.async) runs a small kernel whose answer is
// computed here independently; the broken kernels must fail. Natively (label gpu) the same
// kernels check that the emulator agrees with the hardware.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "kernel_backend.h"
#include "selftest/selftest.cuh"

#if !defined(RAYVID_KERNEL_TEST_GPU)
#include "emu/emu.h"
#endif

namespace rayvid::test {
namespace {

using kernels::DType;

#if !defined(RAYVID_KERNEL_TEST_GPU)
// The correct kernels must give the same answer whatever order the emulator runs threads in.
class EmuSchedules : public ::testing::TestWithParam<emu::Schedule> {
 protected:
  void SetUp() override {
    saved_ = emu::schedule();
    emu::set_schedule(GetParam(), 1234);
  }
  void TearDown() override { emu::set_schedule(saved_); }
  emu::Schedule saved_ = emu::Schedule::kForward;
};
#define SCHEDULED_TEST(name) TEST_P(EmuSchedules, name)
INSTANTIATE_TEST_SUITE_P(Orders, EmuSchedules,
                         ::testing::Values(emu::Schedule::kForward, emu::Schedule::kReverse,
                                           emu::Schedule::kShuffled, emu::Schedule::kWarpByWarp,
                                           emu::Schedule::kWarpByWarpReverse));
#else
#define SCHEDULED_TEST(name) TEST(GpuSelftest, name)
#endif

SCHEDULED_TEST(BlockReductionSumsEachBlock) {
  RAYVID_REQUIRE_BACKEND();
  const int n = 1000;  // not a multiple of 256: the last block reads past n as 0
  at::manual_seed(1);
  const at::Tensor x = at::randn({n});
  DeviceBuffer in = DeviceBuffer::from(x), out = DeviceBuffer::poisoned(4 * sizeof(float));
  RAYVID_EXPECT_LAUNCHED(kb::selftest_block_sum(in.as<float>(), n, out.as<float>(), nullptr));
  const at::Tensor expected = at::constant_pad_nd(x, {0, 24}).view({4, 256}).to(at::kDouble).sum(1);
  EXPECT_TRUE(at::allclose(out.to_host({4}, at::kFloat).to(at::kDouble), expected, 1e-5, 1e-5));
}

SCHEDULED_TEST(ShuffleScanIsInclusivePrefixSum) {
  RAYVID_REQUIRE_BACKEND();
  const int n = 300;
  const at::Tensor x = at::randint(-50, 50, {n}, at::TensorOptions().dtype(at::kInt));
  DeviceBuffer in = DeviceBuffer::from(x), out = DeviceBuffer::poisoned(n * sizeof(int));
  RAYVID_EXPECT_LAUNCHED(kb::selftest_block_scan(in.as<int>(), n, out.as<int>(), nullptr));
  at::Tensor expected = at::empty({n}, at::kInt);
  for (int start = 0; start < n; start += 128) {
    const int len = std::min(128, n - start);
    expected.narrow(0, start, len).copy_(x.narrow(0, start, len).cumsum(0));
  }
  EXPECT_TRUE(at::equal(out.to_host({n}, at::kInt), expected));
}

SCHEDULED_TEST(SharedMemoryTransposeOfRaggedMatrix) {
  RAYVID_REQUIRE_BACKEND();
  const int rows = 45, cols = 70;  // partial tiles on both edges
  const at::Tensor x = at::randn({rows, cols});
  DeviceBuffer in = DeviceBuffer::from(x), out = DeviceBuffer::poisoned(x.nbytes());
  RAYVID_EXPECT_LAUNCHED(
      kb::selftest_transpose(in.as<float>(), rows, cols, out.as<float>(), nullptr));
  EXPECT_TRUE(at::equal(out.to_host({cols, rows}, at::kFloat), x.t().contiguous()));
}

void check_mma_tile(DType dtype, bool use_ldmatrix) {
  const at::ScalarType st = dtype == DType::kBFloat16 ? at::kBFloat16 : at::kHalf;
  at::manual_seed(7);
  const at::Tensor a = at::randn({16, 16}).to(st), b = at::randn({16, 16}).to(st);
  const at::Tensor c = at::randn({16, 16});
  DeviceBuffer da = DeviceBuffer::from(a), db = DeviceBuffer::from(b), dc = DeviceBuffer::from(c);
  DeviceBuffer dd = DeviceBuffer::poisoned(16 * 16 * sizeof(float));
  RAYVID_EXPECT_LAUNCHED(kb::selftest_mma_tile(dtype, da.data(), db.data(), dc.as<float>(),
                                               dd.as<float>(), use_ldmatrix, nullptr));
  // Products of 16-bit floats are exact in fp64; the tensor core sums them in fp32.
  const at::Tensor expected = at::mm(a.to(at::kDouble), b.to(at::kDouble)) + c.to(at::kDouble);
  const at::Tensor got = dd.to_host({16, 16}, at::kFloat).to(at::kDouble);
  EXPECT_TRUE(at::allclose(got, expected, 1e-5, 1e-4))
      << "max error " << (got - expected).abs().max().item<double>();
}

SCHEDULED_TEST(MmaTileBf16FromPtxLayout) {
  RAYVID_REQUIRE_BACKEND();
  check_mma_tile(DType::kBFloat16, false);
}
SCHEDULED_TEST(MmaTileFp16FromPtxLayout) {
  RAYVID_REQUIRE_BACKEND();
  check_mma_tile(DType::kFloat16, false);
}
SCHEDULED_TEST(MmaTileBf16FromLdmatrix) {
  RAYVID_REQUIRE_BACKEND();
  check_mma_tile(DType::kBFloat16, true);
}
SCHEDULED_TEST(MmaTileFp16FromLdmatrix) {
  RAYVID_REQUIRE_BACKEND();
  check_mma_tile(DType::kFloat16, true);
}

SCHEDULED_TEST(RotateThroughSharedMemoryWithBarrier) {
  RAYVID_REQUIRE_BACKEND();
  const at::Tensor x = at::arange(64, at::kFloat);
  DeviceBuffer in = DeviceBuffer::from(x), out = DeviceBuffer::poisoned(64 * sizeof(float));
  RAYVID_EXPECT_LAUNCHED(
      kb::selftest_rotate(in.as<float>(), out.as<float>(), kb::SelftestBug::kNone, nullptr));
  EXPECT_TRUE(at::equal(out.to_host({64}, at::kFloat), at::roll(x, -1)));
}

#if !defined(RAYVID_KERNEL_TEST_GPU)
// A missing __syncthreads: thread i reads slot i+1 before its owner wrote it. Shared memory starts
// as NaN, so the race shows in the output under the forward order, and under every other order
// some thread sees a value that is not its neighbour's.
TEST_P(EmuSchedules, MissingBarrierMakesTheKernelFail) {
  const at::Tensor x = at::arange(64, at::kFloat);
  DeviceBuffer in = DeviceBuffer::from(x), out = DeviceBuffer::poisoned(64 * sizeof(float));
  RAYVID_EXPECT_LAUNCHED(kb::selftest_rotate(in.as<float>(), out.as<float>(),
                                             kb::SelftestBug::kMissingBarrier, nullptr));
  EXPECT_FALSE(at::equal(out.to_host({64}, at::kFloat), at::roll(x, -1)))
      << "the emulator let a missing barrier pass";
}

TEST(EmuSelftest, DivergentShuffleIsReportedAsDeadlock) {
  const at::Tensor x = at::arange(64, at::kFloat);
  DeviceBuffer in = DeviceBuffer::from(x), out = DeviceBuffer::poisoned(64 * sizeof(float));
  const kernels::LaunchError error = kb::selftest_rotate(
      in.as<float>(), out.as<float>(), kb::SelftestBug::kDivergentShuffle, nullptr);
  ASSERT_NE(error, nullptr);
  EXPECT_NE(std::string(error).find("deadlock"), std::string::npos) << error;
}

TEST(EmuSelftest, CpAsyncWithoutWaitIsReported) {
  const at::Tensor x = at::arange(64, at::kFloat);
  DeviceBuffer in = DeviceBuffer::from(x), out = DeviceBuffer::poisoned(64 * sizeof(float));
  const kernels::LaunchError error = kb::selftest_rotate(
      in.as<float>(), out.as<float>(), kb::SelftestBug::kCpAsyncNotWaited, nullptr);
  ASSERT_NE(error, nullptr);
  EXPECT_NE(std::string(error).find("cp.async"), std::string::npos) << error;
}

TEST(EmuSelftest, SharedMemoryOverTheLimitIsRefused) {
  // A block asking for more dynamic shared memory than the kernel allows fails like on a GPU.
  EXPECT_THROW(emu::launch(reinterpret_cast<const void*>(&backend_available), emu::Dim3(1),
                           emu::Dim3(32), 64 * 1024, [] {}),
               emu::EmuError);
}
#endif

}  // namespace
}  // namespace rayvid::test
