// Memory profiles (engine/memory_profile.h) through the public API, two requests per engine: max,
// balanced and low compute the same videos bit for bit (on the CPU, low streams the DiT's blocks
// through its staging copy and the A14B experts take turns, loading again each request), and
// the sidecar says which profile ran. What low keeps resident is bounded in
// tests/models/wan_dit/wan_dit_streaming_test.cpp.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "io/safetensors.h"
#include "rayvid/rayvid.h"
#include "support/test_env.h"

namespace rayvid {
namespace {
namespace fs = std::filesystem;

struct Run {
  std::vector<at::Tensor> final_latents;  // one per request
  std::vector<std::string> profiles;      // the sidecars' memory_profile
};

Run run_twice(const std::string& family, const std::string& memory, bool image) {
  EngineOptions options;
  options.model_dir = (test::fixtures_dir() / "models" / family).string();
  options.memory = memory;
  auto engine = Engine::open(options);
  Run run;
  for (uint64_t seed : {1u, 2u}) {
    const fs::path dir = test::scratch_dir(fmt::format("memory_{}_{}_{}", family, memory, seed));
    GenerateRequest r;
    r.prompt = "a red fox in the snow";
    r.width = 64, r.height = 48, r.frames = 5, r.steps = 2, r.seed = seed;
    if (image)
      r.image =
          (test::fixtures_dir() / "golden_extra" / "flf2v" / "flf2v_first_64x48.png").string();
    r.output = (dir / "out.mp4").string();
    r.dump_latents_dir = (dir / "dump").string();
    const GenerateResult result = engine->generate(r, nullptr);
    run.final_latents.push_back(io::WeightStore::open_file(dir / "dump" / "step_001.safetensors")
                                    .tensor("latents")
                                    .clone());
    std::ifstream in(result.sidecar_path);
    run.profiles.push_back(nlohmann::json::parse(in)["memory_profile"]);
  }
  return run;
}

void expect_profiles_agree(const std::string& family, bool image) {
  const Run max = run_twice(family, "max", image);
  EXPECT_EQ(max.profiles, (std::vector<std::string>{"max", "max"}));
  EXPECT_FALSE(at::equal(max.final_latents[0], max.final_latents[1]));  // two seeds
  for (const std::string profile : {"balanced", "low"}) {
    SCOPED_TRACE(family + " " + profile);
    const Run other = run_twice(family, profile, image);
    EXPECT_EQ(other.profiles, (std::vector<std::string>{profile, profile}));
    for (size_t i = 0; i < 2; ++i)
      EXPECT_TRUE(at::equal(other.final_latents[i], max.final_latents[i])) << "request " << i;
  }
}

TEST(MemoryProfile, TwoExpertsGiveTheSameVideosUnderEveryProfile) {
  expect_profiles_agree("wan22_a14b", false);
}

TEST(MemoryProfile, ImageToVideoWithClipGivesTheSameVideosUnderEveryProfile) {
  expect_profiles_agree("wan21_i2v", true);
}

TEST(MemoryProfile, AutoOnTheCpuIsMaxAndAnUnknownProfileIsRefused) {
  EXPECT_EQ(run_twice("wan21_t2v", "auto", false).profiles,
            (std::vector<std::string>{"max", "max"}));
  EngineOptions options;
  options.model_dir = (test::fixtures_dir() / "models" / "wan21_t2v").string();
  options.memory = "tiny";
  try {
    Engine::open(options);
    FAIL() << "--memory tiny was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("auto, max, balanced or low"), std::string::npos);
  }
}

}  // namespace
}  // namespace rayvid
