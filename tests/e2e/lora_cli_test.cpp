// `rayvid generate --lora/--lora-2` end to end on the tiny fixture models: the LoRA reaches the
// expert it is meant for (the output changes, the sidecar says which file, format, strength and
// how many tensors), and every misuse is one line with its exit code and no output left behind.
// The numerics of each key format against diffusers: tests/models/wan_dit/wan_dit_lora_test.cpp.
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
std::string lora(const std::string& name) {
  return (test::fixtures_dir() / "golden_extra" / "lora" / (name + ".safetensors")).string();
}
const std::string kSmall = " --prompt 'a fox' --width 64 --height 48 --frames 5 --steps 2 -q";

struct Generation {
  test::CommandResult result;
  nlohmann::json sidecar;
  at::Tensor final_latents;
};

Generation generate(const std::string& name, const std::string& args) {
  const fs::path dir = test::scratch_dir("lora_cli_" + name);
  Generation run;
  run.result =
      run_command(cli() + " generate" + args + kSmall + " --output '" + (dir / "out.mp4").string() +
                  "' --dump-latents '" + (dir / "dump").string() + "'");
  if (run.result.exit_code != 0) return run;
  std::ifstream in(dir / "out.json");
  run.sidecar = nlohmann::json::parse(in);
  run.final_latents =
      io::WeightStore::open_file(dir / "dump" / "step_001.safetensors").tensor("latents").clone();
  return run;
}

TEST(LoraCli, LoraReachesTheTransformerAndTheSidecar) {
  const Generation base = generate("base", model("wan21_t2v"));
  const Generation with =
      generate("with", model("wan21_t2v") + " --lora '" + lora("kohya") + ":0.5'");
  ASSERT_EQ(base.result.exit_code, 0) << base.result.output;
  ASSERT_EQ(with.result.exit_code, 0) << with.result.output;
  EXPECT_FALSE(at::equal(base.final_latents, with.final_latents)) << "the LoRA changed nothing";
  EXPECT_TRUE(base.sidecar["loras"].empty());
  ASSERT_EQ(with.sidecar["loras"].size(), 1u);
  const auto& l = with.sidecar["loras"][0];
  EXPECT_EQ(l["expert"], "transformer");
  EXPECT_EQ(l["path"], lora("kohya"));
  EXPECT_EQ(l["format"], "kohya");
  EXPECT_EQ(l["strength"], 0.5);
  EXPECT_EQ(l["tensors_changed"], 20);  // q, k, v, o of both attentions and the FFN's 2, x 2 blocks
}

TEST(LoraCli, LoraTwoGoesToTheLowNoiseExpert) {
  const Generation high =
      generate("a14b_high", model("wan22_a14b") + " --lora '" + lora("a14b_low") + "'");
  const Generation low =
      generate("a14b_low", model("wan22_a14b") + " --lora-2 '" + lora("a14b_low") + "'");
  ASSERT_EQ(high.result.exit_code, 0) << high.result.output;
  ASSERT_EQ(low.result.exit_code, 0) << low.result.output;
  EXPECT_EQ(high.sidecar["loras"][0]["expert"], "transformer");
  EXPECT_EQ(low.sidecar["loras"][0]["expert"], "transformer_2");
  EXPECT_FALSE(at::equal(high.final_latents, low.final_latents));
}

void expect_error(const std::string& args, int code, const std::string& needle) {
  const fs::path dir = test::scratch_dir("lora_cli_errors");
  const auto r = run_command(cli() + " generate" + args + kSmall + " --output '" +
                             (dir / "x.mp4").string() + "'");
  EXPECT_EQ(r.exit_code, code) << args << "\n" << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << args << "\n" << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << "not one line:\n" << r.output;
  EXPECT_TRUE(fs::is_empty(dir)) << "output left behind by: " << args;
}

TEST(LoraCli, MisuseIsOneLineWithItsExitCode) {
  const std::string t2v = model("wan21_t2v");
  expect_error(t2v + " --lora-2 '" + lora("kohya") + "'", 4,
               "--lora-2 is for the low-noise expert");
  expect_error(t2v + " --lora /nonexistent/x.safetensors", 3,
               "LoRA file '/nonexistent/x.safetensors' not found");
  expect_error(t2v + " --lora '" + lora("kohya") + ":1.2.3'", 2, "is not a number");
  expect_error(t2v + " --lora '" + lora("unmatched") + "'", 2,
               "lora_unet_blocks_0_self_attn_nonexistent");
  const auto weights = (test::fixtures_dir() / "models" / "wan21_t2v" / "transformer" /
                        "diffusion_pytorch_model.safetensors")
                           .string();
  expect_error(t2v + " --lora '" + weights + "'", 3, "not a LoRA file");
}

TEST(LoraCli, UnmatchedKeysCanBeAllowed) {
  const Generation r = generate(
      "allowed", model("wan21_t2v") + " --lora '" + lora("unmatched") + "' --lora-allow-unmatched");
  ASSERT_EQ(r.result.exit_code, 0) << r.result.output;
  EXPECT_EQ(r.sidecar["loras"][0]["unmatched_keys"].size(), 2u);
}

}  // namespace
}  // namespace rayvid
