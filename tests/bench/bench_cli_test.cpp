// `rayvid bench` end to end where no weights are needed: the planner's printed numbers, the JSON,
// measured-over-floor from a sidecar, and argument and memory errors.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_env.h"

namespace {

std::string cli() { return RAYVID_TEST_CLI; }

TEST(BenchCli, PlanPrintsFloorsAndWritesJson) {
  const auto dir = rayvid::test::scratch_dir("bench_cli_plan");
  std::ofstream(dir / "sidecar.json")
      << R"({"step_seconds": [9.0, 1.2, 1.1, 1.3], "timings": {"total": 80.0}})";
  const auto run = rayvid::test::run_command(
      cli() + " bench --plan --arch wan2.1-1.3b --width 832 --height 480 --frames 81 " +
      "--device-preset h100 --json " + (dir / "plan.json").string() + " --measured " +
      (dir / "sidecar.json").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("tokens: 32760 video"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("283.0 TFLOP = linear 82.1 TFLOP + attention 200.9 TFLOP"),
            std::string::npos)
      << run.output;
  // Floor per step 2 * 283.0018 / 989 = 0.5723 s; measured median 1.2 s -> 2.10x.
  EXPECT_NE(run.output.find("572.3 ms per step"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("= 2.10x floor"), std::string::npos) << run.output;
  std::ifstream in(dir / "plan.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["tokens"]["video"], 32760);
  EXPECT_NEAR(j["measured"]["step_over_floor"].get<double>(), 1.2 / 0.5723, 1e-3);
}

TEST(BenchCli, BadArgumentsSaySo) {
  const auto no_arch = rayvid::test::run_command(cli() + " bench --plan");
  EXPECT_EQ(no_arch.exit_code, 2) << no_arch.output;
  EXPECT_NE(no_arch.output.find("--plan needs --arch"), std::string::npos) << no_arch.output;
  const auto bad_shape =
      rayvid::test::run_command(cli() + " bench --plan --arch wan2.2-5b --width 1000");
  EXPECT_EQ(bad_shape.exit_code, 2) << bad_shape.output;
  EXPECT_NE(bad_shape.output.find("multiples of 32"), std::string::npos) << bad_shape.output;
  const auto measure_shape =
      rayvid::test::run_command(cli() + " bench --arch wan2.1-1.3b --width 40 --height 32");
  EXPECT_EQ(measure_shape.exit_code, 2) << measure_shape.output;
  EXPECT_NE(measure_shape.output.find("multiples of 16"), std::string::npos)
      << measure_shape.output;
  const auto two_modes = rayvid::test::run_command(cli() + " bench --plan --measure --arch x");
  EXPECT_EQ(two_modes.exit_code, 2) << two_modes.output;
  EXPECT_NE(two_modes.output.find("choose one mode"), std::string::npos) << two_modes.output;
}

// Wan2.1 T2V-14B in fp32 at 1080p for 10 s: 57 GB of weights alone, and activations for half a
// million tokens; refused before anything is allocated, with the fix.
TEST(BenchCli, ArchThatCannotFitIsRefusedUpFront) {
  const auto run = rayvid::test::run_command(cli() + " bench --arch wan2.1-14b --device cpu " +
                                             "--dtype fp32 --resolution 1080p --duration 10s");
  EXPECT_EQ(run.exit_code, 5) << run.output;  // out of memory
  EXPECT_NE(run.output.find("needs about"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("--dtype bf16"), std::string::npos) << run.output;
}

}  // namespace
