// Wan2.1 VACE from the command line on the tiny VACE folder (scripts/reference/extra_vace.py):
// references, keyframes (--image/--last-image as frames 0 and last) and a control video run and
// are recorded in the sidecar; misuse is one line with its exit code and no output; other models
// refuse VACE's inputs. The numerics against diffusers: tests/pipeline/pipeline_golden_test.cpp.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "cli_refusals.h"
#include "support/test_env.h"

namespace rayvid {
namespace {
namespace fs = std::filesystem;
using test::run_command;

fs::path vace() { return test::fixtures_dir() / "golden_extra" / "vace"; }
std::string file(const std::string& name) { return (vace() / name).string(); }
std::string model() { return " --model '" + file("model") + "'"; }
const std::string kSmall = " --prompt 'a fox' --width 64 --height 48 --steps 2 -q";

test::CliRun generate(const std::string& name, const std::string& args) {
  const fs::path dir = test::scratch_dir("vace_cli_" + name);
  const std::string frames = args.find("--frames") == std::string::npos ? " --frames 9" : "";
  return {run_command(test::cli_command() + " generate" + args + kSmall + frames + " --output '" +
                      (dir / "out.mp4").string() + "' 2>&1"),
          dir};
}

TEST(VaceCli, EveryInputRunsAndTheSidecarRecordsIt) {
  const auto [r, dir] = generate(
      "all", model() + " --image '" + file("vace_first_64x48.png") + "' --keyframe 4:'" +
                 file("vace_key_64x48.png") + "' --last-image '" + file("vace_last_64x48.png") +
                 "' --reference '" + file("vace_ref_40x48.png") + "' --control-video '" +
                 file("control_9f.mp4") + "' --control-scale 0.8");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(dir / "out.json");
  const auto sidecar = nlohmann::json::parse(in);
  const auto& v = sidecar["vace"];
  EXPECT_EQ(v["keyframes"]["0"], file("vace_first_64x48.png"));
  EXPECT_EQ(v["keyframes"]["4"], file("vace_key_64x48.png"));
  EXPECT_EQ(v["keyframes"]["8"], file("vace_last_64x48.png"));
  EXPECT_EQ(v["references"], nlohmann::json::array({file("vace_ref_40x48.png")}));
  EXPECT_EQ(v["control_video"], file("control_9f.mp4"));
  EXPECT_EQ(v["control_scale"], 0.8);
}

TEST(VaceCli, MisuseIsOneLineWithItsExitCode) {
  const std::string key = file("vace_key_64x48.png");
  test::expect_refusals(
      {
          {"bad_keyframe", model() + " --keyframe four:'" + key + "'", 2, "FRAME:IMAGE"},
          {"out_of_range", model() + " --keyframe 9:'" + key + "'", 2,
           "outside the video's 9 frames"},
          {"twice", model() + " --image '" + key + "' --keyframe 0:'" + key + "'", 2,
           "given twice"},
          {"short_video", model() + " --control-video '" + file("control_9f.mp4") + "' --frames 13",
           3, "9 frames"},
          {"cache", model() + " --cache fbcache --cache-threshold 0.1", 4, "VACE"},
          {"scale", model() + " --control-scale -1", 2, "--control-scale"},
          {"t2v_reference", test::fixture_model_flag("wan21_t2v") + " --reference '" + key + "'", 4,
           "VACE"},
          {"ti2v_keyframe", test::fixture_model_flag("wan22_ti2v") + " --keyframe 4:'" + key + "'",
           4, "VACE"},
          {"i2v_control",
           test::fixture_model_flag("wan21_i2v") + " --image '" + key + "' --control-video '" +
               file("control_9f.mp4") + "'",
           4, "VACE"},
      },
      generate);
}

TEST(VaceCli, InspectListsVaceInputs) {
  const auto r = run_command(test::cli_command() + " inspect '" + file("model") +
                             "' | grep -E '^inputs:|WanVACEPipeline'");
  EXPECT_NE(r.output.find("WanVACEPipeline (custom (wan2.1-t2v style"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("inputs: --prompt, --image, --last-image, --keyframe, --reference, "
                          "--control-video, --control-scale"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace rayvid
