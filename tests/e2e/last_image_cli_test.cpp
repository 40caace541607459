// `rayvid generate --last-image` end to end: an FLF2V model runs with both frames and the sidecar
// records them; every model that cannot use a last frame refuses it with its exit code, naming
// the kinds that can, and leaves no output. The numerics against diffusers:
// tests/pipeline/pipeline_golden_test.cpp.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "cli_refusals.h"
#include "support/test_env.h"

namespace rayvid {
namespace {
namespace fs = std::filesystem;
using test::run_command;

const std::string kSmall = " --prompt 'a fox' --width 64 --height 48 --frames 9 --steps 2 -q";

fs::path flf2v_dir() { return test::fixtures_dir() / "golden_extra" / "flf2v"; }
std::string first_png() { return (flf2v_dir() / "flf2v_first_64x48.png").string(); }
std::string last_png() { return (flf2v_dir() / "flf2v_last_64x48.png").string(); }

test::CliRun generate(const std::string& name, const std::string& args) {
  const fs::path dir = test::scratch_dir("last_image_cli_" + name);
  return {run_command(test::cli_command() + " generate" + args + kSmall + " --output '" +
                      (dir / "out.mp4").string() + "' 2>&1"),
          dir};
}

TEST(LastImageCli, Flf2vRunsWithBothFramesAndRecordsThem) {
  const auto [r, dir] =
      generate("flf2v", " --model '" + (flf2v_dir() / "model").string() + "' --image '" +
                            first_png() + "' --last-image '" + last_png() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(dir / "out.json");
  const auto sidecar = nlohmann::json::parse(in);
  EXPECT_EQ(sidecar["image"], first_png());
  EXPECT_EQ(sidecar["last_image"], last_png());
}

TEST(LastImageCli, ModelsThatCannotUseALastFrameRefuseIt) {
  const std::string both = " --image '" + first_png() + "' --last-image '" + last_png() + "'";
  test::expect_refusals(
      {
          {"i2v", test::fixture_model_flag("wan21_i2v") + both, 4, "FLF2V"},
          {"ti2v", test::fixture_model_flag("wan22_ti2v") + both, 4, "FLF2V"},
          {"t2v", test::fixture_model_flag("wan21_t2v") + both, 4, "image"},
          {"no_first",
           " --model '" + (flf2v_dir() / "model").string() + "' --last-image '" + last_png() + "'",
           2, "image"},
          {"no_last",
           " --model '" + (flf2v_dir() / "model").string() + "' --image '" + first_png() + "'", 2,
           "--last-image"},
          {"missing",
           " --model '" + (flf2v_dir() / "model").string() + "' --image '" + first_png() +
               "' --last-image /nonexistent/last.png",
           3, "not found"},
      },
      generate);
}

TEST(LastImageCli, InspectSaysWhichImagesAModelTakes) {
  const auto flf2v = run_command(test::cli_command() + " inspect '" +
                                 (flf2v_dir() / "model").string() + "' | grep '^inputs:'");
  EXPECT_EQ(flf2v.output.substr(0, flf2v.output.find(';')),
            "inputs: --prompt, --image (required), --last-image (required)");
  const auto i2v =
      run_command(test::cli_command() + " inspect '" +
                  (test::fixtures_dir() / "models" / "wan21_i2v").string() + "' | grep '^inputs:'");
  EXPECT_EQ(i2v.output.substr(0, i2v.output.find(';')), "inputs: --prompt, --image (required)");
  const auto ti2v = run_command(test::cli_command() + " inspect '" +
                                (test::fixtures_dir() / "models" / "wan22_ti2v").string() +
                                "' | grep '^inputs:'");
  EXPECT_EQ(ti2v.output.substr(0, ti2v.output.find(';')), "inputs: --prompt, --image");
}

}  // namespace
}  // namespace rayvid
