// The sanitizer build's proof that an out-of-bounds read in a kernel fails the run (built only
// when RAYVID_SANITIZE has `address`: tests/CMakeLists.txt adds this file and defines
// RAYVID_KERNEL_TEST_ASAN; the normal build has no such test). selftest_read_past_end makes
// thread 63 read one float past the end of the global input, the block's dynamic shared memory or
// its own local array (which stays live across a __syncthreads, so the emulator's fiber switches
// must keep its redzones: kernels/emu/emu.cpp). Each bad launch runs in a child process (a gtest
// death test, re-executing this binary) that must die with AddressSanitizer's report.
#if defined(RAYVID_KERNEL_TEST_ASAN)
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>

#include "kernel_backend.h"
#include "selftest/selftest.cuh"

namespace rayvid::test {
namespace {

using kb::OutOfBoundsRead;

// One launch on 64 random floats; returns the output (the child dies before it returns).
at::Tensor read_past_end(OutOfBoundsRead where, const at::Tensor& x) {
  DeviceBuffer in = DeviceBuffer::from(x), out = DeviceBuffer::poisoned(64 * sizeof(float));
  const kernels::LaunchError error =
      kb::selftest_read_past_end(in.as<float>(), out.as<float>(), where, nullptr);
  EXPECT_EQ(error, nullptr) << error;
  return out.to_host({64}, at::kFloat);
}

TEST(EmuAsan, KernelWithoutTheBugIsCleanAndCorrect) {
  at::manual_seed(3);
  const at::Tensor x = at::randn({64});
  const at::Tensor i = at::arange(64);
  const at::Tensor expected = x.index({(i + 1) % 64}) + x.index({(i + i % 4) % 64});
  EXPECT_TRUE(at::equal(read_past_end(OutOfBoundsRead::kNone, x), expected));
}

struct Case {
  OutOfBoundsRead where;
  const char* name;
  const char* report;  // what AddressSanitizer's first line calls it
};

class EmuAsanReadPastEnd : public ::testing::TestWithParam<Case> {};

TEST_P(EmuAsanReadPastEnd, KillsTheRunWithAnAsanReport) {
  // threadsafe: the child re-executes this binary and runs only this test, so LibTorch's thread
  // pools in the parent do not matter.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const Case& c = GetParam();
  const at::Tensor x = at::randn({64});
  // POSIX extended regex; `.` also matches newlines, so this spans the report's lines.
  const std::string pattern =
      std::string("ERROR: AddressSanitizer: ") + c.report + ".*READ of size 4";
  EXPECT_DEATH(read_past_end(c.where, x), pattern);
}

INSTANTIATE_TEST_SUITE_P(
    Where, EmuAsanReadPastEnd,
    ::testing::Values(Case{OutOfBoundsRead::kGlobal, "global", "heap-buffer-overflow"},
                      // The emulator poisons the bytes past the launch's dynamic shared memory.
                      Case{OutOfBoundsRead::kDynamicShared, "dynamic_shared", "use-after-poison"},
                      Case{OutOfBoundsRead::kLocal, "local", "stack-buffer-overflow"}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace rayvid::test
#endif  // RAYVID_KERNEL_TEST_ASAN
