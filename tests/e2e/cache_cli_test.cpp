// `rayvid generate --cache teacache|magcache` end to end: the sidecar records the method, table,
// settings and which steps reused the blocks' residual; --dry-run shows MagCache's schedule (fixed
// by its ratios) before anything loads; and every misuse is one line with its exit code. The
// numerics against the references: tests/pipeline/step_cache_test.cpp.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "support/test_env.h"

namespace rayvid {
namespace {
namespace fs = std::filesystem;
using test::run_command;

std::string cli() { return test::cli_command(); }
std::string model(const std::string& family) { return test::fixture_model_flag(family); }
const std::string kSmall = " --prompt 'a fox' --frames 5 --steps 10 -q";
const std::string k64x48 = " --width 64 --height 48";

TEST(CacheCli, SidecarAndDryRunSayWhatWasCached) {
  const fs::path dir = test::scratch_dir("cache_cli");
  const std::string cache =
      " --cache magcache --cache-threshold 0.04 --cache-table t2v-1.3b --cache-max-skip 3";
  auto r = run_command(cli() + " generate" + model("wan21_t2v") + k64x48 + kSmall + cache +
                       " --dry-run");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto plan = nlohmann::json::parse(r.output);
  EXPECT_EQ(plan["cache"], "magcache");
  ASSERT_EQ(plan["cache_steps"].size(), 10u);
  r = run_command(cli() + " generate" + model("wan21_t2v") + k64x48 + kSmall + cache +
                  " --output '" + (dir / "out.mp4").string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto sidecar = nlohmann::json::parse(std::ifstream(dir / "out.json"))["step_cache"];
  EXPECT_EQ(sidecar["method"], "magcache");
  EXPECT_EQ(sidecar["table"], "t2v-1.3b");
  EXPECT_EQ(sidecar["threshold"], 0.04);
  std::vector<int> reused;
  for (size_t i = 0; i < plan["cache_steps"].size(); ++i) {
    if (!plan["cache_steps"][i].get<bool>()) reused.push_back(static_cast<int>(i));
  }
  EXPECT_FALSE(reused.empty());
  EXPECT_EQ(sidecar["steps_reused"].get<std::vector<int>>(), reused) << "the dry run's schedule";
  EXPECT_EQ(sidecar["steps_run"], 10 - static_cast<int>(reused.size()));
}

void expect_error(const std::string& args, int code, const std::string& needle) {
  const fs::path dir = test::scratch_dir("cache_cli_errors");
  const auto r = run_command(cli() + " generate" + kSmall + args + " --output '" +
                             (dir / "x.mp4").string() + "'");
  EXPECT_EQ(r.exit_code, code) << args << "\n" << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << args << "\n" << r.output;
  EXPECT_TRUE(fs::is_empty(dir)) << args;
}

TEST(CacheCli, MisuseIsOneLineWithItsExitCode) {
  const std::string t2v = model("wan21_t2v") + k64x48;
  expect_error(t2v + " --cache-threshold 0.1", 2, "only apply with --cache");
  expect_error(t2v + " --cache teacache", 2, "needs --cache-threshold");
  expect_error(t2v + " --cache easycache --cache-threshold 0.1", 2,
               "--cache 'easycache' is unknown");
  expect_error(t2v + " --cache fbcache --cache-threshold 0.1 --cache-table t2v-1.3b", 2,
               "--cache-table does not apply to --cache fbcache");
  expect_error(t2v + " --cache teacache --cache-threshold -1", 2, "must be a positive number");
  expect_error(t2v + " --cache magcache --cache-threshold 0.1 --teacache-e0", 2,
               "--teacache-e0 applies to --cache teacache only");
  expect_error(t2v + " --cache teacache --cache-threshold 0.1", 4, "no published teacache table");
  expect_error(t2v + " --cache teacache --cache-threshold 0.1 --cache-table sdxl", 2,
               "--cache-table 'sdxl' is unknown");
  expect_error(model("wan22_a14b") + k64x48 +
                   " --cache magcache --cache-threshold 0.1 --cache-table t2v-14b",
               4, "two-expert models");
}

}  // namespace
}  // namespace rayvid
