// `--guidance-until F`: guidance on the first ceil(F * steps) steps, the conditional branch alone
// (one DiT forward instead of two) after. Until the cut the latents are the fully guided run's,
// bit for bit; after it they differ; the sidecar records the guided steps; misuse is refused. That
// the unguided steps are the conditional branch:
// WanDiTForward.FirstRowsOfAGuidedContextAreTheCondContext.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "io/safetensors.h"
#include "support/test_env.h"

namespace rayvid {
namespace {
namespace fs = std::filesystem;
using test::run_command;

std::string cli() { return "'" + test::cli_path().string() + "'"; }
std::string base() {
  return cli() + " generate --model '" + (test::fixtures_dir() / "models" / "wan21_t2v").string() +
         "' --prompt 'a fox' --width 64 --height 48 --frames 5 --steps 5 -q";
}

at::Tensor latents(const fs::path& dump, int step) {
  char file[32];
  std::snprintf(file, sizeof(file), "step_%03d.safetensors", step);
  return io::WeightStore::open_file(dump / file).tensor("latents").clone();
}

TEST(GuidanceUntil, GuidedUntilTheCutThenCondAlone) {
  const fs::path dir = test::scratch_dir("guidance_until");
  for (const char* f : {"1", "0.5"}) {
    const auto r = run_command(base() + " --guidance-until " + f + " --output '" +
                               (dir / (std::string(f) + ".mp4")).string() + "' --dump-latents '" +
                               (dir / f).string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const auto sidecar = nlohmann::json::parse(std::ifstream(dir / "0.5.json"));
  EXPECT_EQ(sidecar["guided_steps"], 3);  // ceil(0.5 * 5)
  for (int i = 0; i < 5; ++i) {
    const bool same = at::equal(latents(dir / "1", i), latents(dir / "0.5", i));
    EXPECT_EQ(same, i < 3) << "step " << i;
  }
}

TEST(GuidanceUntil, MisuseIsRefused) {
  const fs::path dir = test::scratch_dir("guidance_until_errors");
  const std::string out = " --output '" + (dir / "x.mp4").string() + "'";
  for (const auto& [flags, needle] : std::vector<std::pair<std::string, std::string>>{
           {" --guidance-until 0", "must be a fraction of the steps"},
           {" --guidance-until 1.5", "must be a fraction of the steps"},
           {" --guidance-until 0.5 --guidance-scale 1", "needs guidance"},
           {" --guidance-until 0.5 --cache fbcache --cache-threshold 0.1", "cannot be combined"}}) {
    const auto r = run_command(base() + flags + out);
    EXPECT_EQ(r.exit_code, 2) << flags << "\n" << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
  }
  EXPECT_TRUE(fs::is_empty(dir));
}

}  // namespace
}  // namespace rayvid
