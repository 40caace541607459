// Every sampler against diffusers: the sigma/timestep tables at several step counts and shifts,
// and chains of step() calls on fixed random inputs (golden/schedulers from the reference harness).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "sampling/guidance.h"
#include "sampling/scheduler.h"
#include "sampling/unipc.h"
#include "support/golden.h"

namespace rayvid::sampling {
namespace {

using test::close_to;

std::string sampler_of(const std::string& harness_name) {
  return harness_name == "dpmpp" ? "dpm++" : harness_name;
}

std::unique_ptr<Scheduler> scheduler_for(const nlohmann::json& params) {
  SchedulerConfig config;  // UniPC defaults as the Wan folders configure it
  return make_scheduler(sampler_of(params["scheduler"].get<std::string>()), config,
                        params["shift"].get<double>());
}

class SchedulerGolden : public ::testing::Test {
 protected:
  test::GoldenSet golden_{"schedulers"};
};

TEST_F(SchedulerGolden, SigmaAndTimestepTablesMatchDiffusers) {
  int checked = 0;
  for (const auto& c : golden_.manifest().json()["cases"]) {
    if (c["kind"] != "scheduler_table") continue;
    const auto& p = c["params"];
    auto scheduler = scheduler_for(p);
    scheduler->set_timesteps(p["num_inference_steps"].get<int>());
    const std::string file = c["file"];
    const at::Tensor ref_sigmas = golden_.tensor(file, c["outputs"]["sigmas"]);
    const at::Tensor ref_timesteps =
        golden_.tensor(file, c["outputs"]["timesteps"]).to(at::kDouble);
    const at::Tensor sigmas = at::tensor(scheduler->sigmas(), at::kFloat);
    const at::Tensor timesteps = at::tensor(scheduler->timesteps(), at::kDouble);
    SCOPED_TRACE(c["name"].get<std::string>());
    ASSERT_EQ(sigmas.sizes(), ref_sigmas.sizes());
    EXPECT_LE((sigmas - ref_sigmas).abs().max().item<double>(), 1e-6);
    ASSERT_EQ(timesteps.sizes(), ref_timesteps.sizes());
    // Integer timesteps must match exactly; float ones (Euler) to float32 rounding.
    EXPECT_LE((timesteps - ref_timesteps).abs().max().item<double>(), 1e-4);
    ++checked;
  }
  EXPECT_GE(checked, 24);  // 3 samplers x 2 shifts x 4 step counts
}

TEST_F(SchedulerGolden, StepChainsMatchDiffusersAtEveryStep) {
  int checked = 0;
  for (const auto& c : golden_.manifest().json()["cases"]) {
    if (c["kind"] != "scheduler_chain") continue;
    const auto& p = c["params"];
    const std::string file = c["file"];
    auto scheduler = scheduler_for(p);
    const int n = p["num_inference_steps"].get<int>();
    if (p.contains("sigmas_given")) {  // a given schedule (the distill-4step recipe)
      scheduler->set_sigmas(p["sigmas_given"].get<std::vector<double>>());
      EXPECT_TRUE(close_to(at::tensor(scheduler->sigmas()),
                           golden_.tensor(file, c["inputs"]["sigmas"]), 0.0));
      EXPECT_TRUE(close_to(at::tensor(scheduler->timesteps()),
                           golden_.tensor(file, c["inputs"]["timesteps"]), 0.0));
    } else {
      scheduler->set_timesteps(n);
    }
    at::Tensor x = golden_.tensor(file, c["inputs"]["sample_0"]);
    for (int i = 0; i < n; ++i) {
      SCOPED_TRACE(c["name"].get<std::string>() + " step " + std::to_string(i));
      const at::Tensor mo = golden_.tensor(file, c["inputs"]["model_output_" + std::to_string(i)]);
      x = scheduler->step(mo, x);
      const at::Tensor ref = golden_.tensor(file, c["outputs"]["prev_sample_" + std::to_string(i)]);
      EXPECT_TRUE(close_to(x, ref, 1e-5));
    }
    ++checked;
  }
  EXPECT_GE(checked, 7);  // 3 samplers x 2 shifts, and the distill-4step schedule
}

TEST(SchedulerGivenSigmas, OnlyEulerTakesAGivenSchedule) {
  for (const std::string sampler : {"unipc", "dpm++"}) {
    try {
      make_scheduler(sampler, SchedulerConfig{}, -1.0)->set_sigmas({1.0, 0.5});
      FAIL() << sampler;
    } catch (const rayvid::Error& e) {
      EXPECT_EQ(e.category(), rayvid::ErrorCategory::kUnsupported) << e.what();
    }
  }
  EXPECT_THROW(make_scheduler("euler", SchedulerConfig{}, -1.0)->set_sigmas({1.5}), rayvid::Error);
}

TEST(SchedulerConfigTest, ReadsTheWanFolderConfigAndRejectsNonFlowSchedules) {
  const auto wan = io::JsonFile::from_json(nlohmann::json::parse(R"({
      "_class_name": "UniPCMultistepScheduler", "flow_shift": 3.0, "num_train_timesteps": 1000,
      "prediction_type": "flow_prediction", "use_flow_sigmas": true, "solver_order": 2,
      "solver_type": "bh2", "lower_order_final": true})"),
                                           "scheduler/scheduler_config.json");
  const auto config = SchedulerConfig::from_json(wan);
  EXPECT_DOUBLE_EQ(config.shift, 3.0);
  EXPECT_EQ(config.solver_order, 2);
  const auto eps = io::JsonFile::from_json(
      nlohmann::json::parse(
          R"({"_class_name": "UniPCMultistepScheduler", "use_flow_sigmas": false})"),
      "scheduler/scheduler_config.json");
  EXPECT_THROW(SchedulerConfig::from_json(eps), rayvid::Error);
  EXPECT_THROW(make_scheduler("ddim", config), rayvid::Error);
  EXPECT_THROW(make_scheduler("unipc", config, -1.0)->set_timesteps(0), rayvid::Error);
}

TEST(Guidance, CombinesCondAndUncond) {
  const at::Tensor cond = at::full({1, 2, 1, 2, 2}, 3.0f), uncond = at::full({1, 2, 1, 2, 2}, 1.0f);
  const at::Tensor out = apply_guidance(at::cat({cond, uncond}), 5.0);
  EXPECT_TRUE(at::allclose(out, at::full({1, 2, 1, 2, 2}, 11.0f)));  // 1 + 5 * (3 - 1)
}

TEST(SolveSmall, SolvesWithPivoting) {
  const auto x = solve_small({{0, 2, 1}, {1, 1, 1}, {2, 1, 3}}, {7, 6, 13});  // x = (1, 2, 3)
  EXPECT_NEAR(x[0], 1.0, 1e-12);
  EXPECT_NEAR(x[1], 2.0, 1e-12);
  EXPECT_NEAR(x[2], 3.0, 1e-12);
  const auto y = solve_small({{0, 2}, {3, 1}}, {4, 5});  // 2*y1 = 4, 3*y0 + y1 = 5
  EXPECT_NEAR(y[0], 1.0, 1e-12);
  EXPECT_NEAR(y[1], 2.0, 1e-12);
}

}  // namespace
}  // namespace rayvid::sampling
