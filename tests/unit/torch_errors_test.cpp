// LibTorch errors at the engine boundary (issue "The GPU path", item 5): an allocation failure is
// exit 5 with the fix, anything else exit 70 naming the op and shapes. Before, every c10::Error
// left Engine::generate untranslated and ended as "internal error" (exit 70), out of memory too.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "engine/torch_errors.h"
#include "rayvid/error.h"
#include "support/test_env.h"

namespace rayvid {
namespace {

Error translated(const std::function<void()>& fn) {
  try {
    try {
      fn();
    } catch (const c10::Error& e) {
      engine::rethrow_as_rayvid_error(e);
    }
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "nothing was thrown";
  return Error(ErrorCategory::kInternal, "");
}

TEST(TorchErrors, ARealCpuAllocationFailureIsOutOfMemoryWithTheFix) {
  // 2^50 floats: the CPU allocator refuses at once (no memory is touched).
  const Error e = translated([] { (void)at::empty({int64_t{1} << 50}, at::kFloat); });
  EXPECT_EQ(e.category(), ErrorCategory::kOutOfMemory) << e.what();
  EXPECT_NE(std::string(e.what()).find("lower --resolution"), std::string::npos) << e.what();
}

TEST(TorchErrors, CudaOutOfMemoryIsOutOfMemory) {
  // CUDA's caching allocator throws this type; constructed here as it would be there.
  const Error e = translated([] {
    throw c10::OutOfMemoryError(c10::SourceLocation{__func__, __FILE__, __LINE__},
                                "CUDA out of memory. Tried to allocate 20.00 GiB");
  });
  EXPECT_EQ(e.category(), ErrorCategory::kOutOfMemory) << e.what();
}

TEST(TorchErrors, OtherErrorsAreInternalNamingTheOpAndShapesInOneLine) {
  const Error e = translated([] { (void)at::mm(at::ones({2, 3}), at::ones({4, 5})); });
  EXPECT_EQ(e.category(), ErrorCategory::kInternal);
  EXPECT_NE(std::string(e.what()).find("2x3 and 4x5"), std::string::npos) << e.what();
  EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
}

// End to end: an address-space limit makes LibTorch's allocator fail inside generate (the planner's
// check, which reads free RAM, lets the request through): exit 5 and one line, no output.
TEST(TorchErrors, GenerateUnderAMemoryLimitExitsWith5) {
  const auto dir = test::scratch_dir("torch-errors-oom");
  const auto r = test::run_command(
      "bash -c 'ulimit -v 3500000; exec \"" + test::cli_path().string() +
      "\" generate --prompt x --width 1024 --height 1024 --frames 33 --steps 1 --quiet --output " +
      (dir / "out.mp4").string() + " >/dev/null'");
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_NE(r.output.find("rayvid: out of memory:"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

}  // namespace
}  // namespace rayvid
