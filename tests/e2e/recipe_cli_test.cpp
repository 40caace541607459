// `rayvid generate --recipe distill-4step` end to end: the step-distill LoRAs' recipe runs 4 Euler
// steps at diffusers' timesteps for sigmas [1, 0.75, 0.5, 0.25] on the shift-5 schedule, without
// guidance (the negative prompt cannot matter), two steps on each A14B expert; a flag that
// contradicts it is refused, one that agrees is fine. The schedule and every Euler step against
// diffusers: tests/sampling (case euler.shift5.distill4.chain).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "io/safetensors.h"
#include "support/test_env.h"

namespace rayvid {
namespace {
namespace fs = std::filesystem;
using test::run_command;

std::string cli() { return test::cli_command(); }
std::string model(const std::string& family) { return test::fixture_model_flag(family); }
const std::string kSmall = " --prompt 'a fox' --width 64 --height 48 --frames 5 -q";

struct Generation {
  test::CommandResult result;
  nlohmann::json sidecar, dump;
  at::Tensor final_latents;
};

Generation generate(const std::string& name, const std::string& args) {
  const fs::path dir = test::scratch_dir("recipe_cli_" + name);
  Generation g;
  g.result =
      run_command(cli() + " generate" + args + kSmall + " --output '" + (dir / "out.mp4").string() +
                  "' --dump-latents '" + (dir / "dump").string() + "'");
  if (g.result.exit_code != 0) return g;
  g.sidecar = nlohmann::json::parse(std::ifstream(dir / "out.json"));
  g.dump = nlohmann::json::parse(std::ifstream(dir / "dump" / "manifest.json"));
  const std::string last = g.dump["steps"].back()["file"];
  g.final_latents = io::WeightStore::open_file(dir / "dump" / last).tensor("latents").clone();
  return g;
}

TEST(RecipeCli, Distill4StepRunsFourUnguidedEulerStepsTwoPerExpert) {
  const Generation a =
      generate("a14b", model("wan22_a14b") + " --recipe distill-4step --negative-prompt 'blurry'");
  ASSERT_EQ(a.result.exit_code, 0) << a.result.output;
  EXPECT_EQ(a.sidecar["recipe"], "distill-4step");
  EXPECT_EQ(a.sidecar["sampler"], "euler");
  EXPECT_EQ(a.sidecar["steps"], 4);
  EXPECT_EQ(a.sidecar["guidance_scale"], 1.0);
  EXPECT_EQ(a.sidecar["shift"], 5.0);
  // diffusers' FlowMatchEuler(shift=5).set_timesteps(sigmas=[1, .75, .5, .25]): t = 1000 * sigma
  // after the shift, in float32.
  const std::vector<double> want = {1000.0, 937.5, 833.333313, 625.0};
  ASSERT_EQ(a.dump["steps"].size(), want.size());
  int high = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double t = a.dump["steps"][i]["timestep"];
    EXPECT_NEAR(t, want[i], 1e-3) << "step " << i;
    high += t >= 875.0;  // the tiny A14B's boundary_ratio 0.875: the high-noise expert's steps
  }
  EXPECT_EQ(high, 2) << "two steps on each expert";
  // No guidance: the negative prompt is never encoded into a prediction.
  const Generation b =
      generate("a14b_neg", model("wan22_a14b") + " --recipe distill-4step --negative-prompt 'x'");
  ASSERT_EQ(b.result.exit_code, 0) << b.result.output;
  EXPECT_TRUE(at::equal(a.final_latents, b.final_latents));
  // Flags that agree with the recipe are accepted and change nothing.
  const Generation c =
      generate("agree", model("wan22_a14b") +
                            " --recipe distill-4step --negative-prompt 'blurry' "
                            "--steps 4 --sampler euler --guidance-scale 1 --shift 5");
  ASSERT_EQ(c.result.exit_code, 0) << c.result.output;
  EXPECT_TRUE(at::equal(a.final_latents, c.final_latents));
}

TEST(RecipeCli, ContradictionsAreRefused) {
  const fs::path dir = test::scratch_dir("recipe_cli_errors");
  for (const auto& [flags, needle] : std::vector<std::pair<std::string, std::string>>{
           {"--steps 8", "--steps 8 contradicts --recipe distill-4step"},
           {"--sampler unipc", "--sampler unipc contradicts"},
           {"--guidance-scale 5", "--guidance-scale 5 contradicts"},
           {"--shift 3", "--shift 3 contradicts"}}) {
    const auto r =
        run_command(cli() + " generate" + model("wan21_t2v") + kSmall + " --recipe distill-4step " +
                    flags + " --output '" + (dir / "x.mp4").string() + "'");
    EXPECT_EQ(r.exit_code, 2) << flags << "\n" << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
  }
  const auto r = run_command(cli() + " generate" + model("wan21_t2v") + kSmall +
                             " --recipe fast --output '" + (dir / "x.mp4").string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--recipe 'fast' is unknown; use distill-4step"), std::string::npos)
      << r.output;
  EXPECT_TRUE(fs::is_empty(dir));
}

}  // namespace
}  // namespace rayvid
