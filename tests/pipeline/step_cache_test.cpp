// Step caching against its references, step for step: MagCache and FirstBlockCache against
// diffusers' own hooks (MagCacheConfig, FirstBlockCacheConfig on the tiny Wan2.1 T2V transformer)
// and TeaCache, both modes, against TeaCache4Wan2.1's algorithm run on diffusers' transformer.
// Goldens: golden_extra/step_cache/ of scripts/reference/extra_step_cache.py (fp32, guided UniPC,
// 10 steps). rayvid runs the same requests through the engine: the same steps must run the blocks,
// and every step's latents must match within 1e-5 (they match to rounding: a reused step adds the
// very residual diffusers adds).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "io/json_file.h"
#include "io/safetensors.h"
#include "pipeline/step_cache.h"
#include "rayvid/rayvid.h"
#include "support/golden.h"
#include "support/test_env.h"

namespace rayvid {
namespace {
namespace fs = std::filesystem;

constexpr double kMaxRel = 1e-5;

fs::path golden_dir() { return test::fixtures_dir() / "golden_extra" / "step_cache"; }

const nlohmann::json& manifest() {
  static const io::JsonFile file = io::JsonFile::load(golden_dir() / "manifest.json");
  return file.json();
}

const nlohmann::json& find_case(const std::string& name) {
  for (const auto& c : manifest()["cases"]) {
    if (c["name"] == name) return c;
  }
  throw std::runtime_error("no step cache case " + name);
}

struct Run {
  GenerateResult result;
  std::vector<at::Tensor> latents;
};

// Each test its own scratch folder: ctest runs them in parallel, and scratch_dir() empties it.
Run generate(const nlohmann::json& c, bool dry_run = false) {
  const auto& p = manifest()["params"];
  const fs::path scratch =
      test::scratch_dir("step_cache_" + c["name"].get<std::string>() + (dry_run ? "_plan" : ""));
  EngineOptions options;
  options.model_dir = (test::fixtures_dir() / p["model"].get<std::string>()).string();
  options.device = "cpu";
  options.dtype = "fp32";
  auto engine = Engine::open(options);
  GenerateRequest r;
  r.prompt = p["prompt"];
  r.negative_prompt = p["negative_prompt"];
  r.width = p["width"], r.height = p["height"], r.frames = p["num_frames"];
  r.steps = p["steps"];
  r.seed = p["seed"];
  r.guidance_scale = p["guidance_scale"];
  if (c["settings"].is_object()) {
    const auto& s = c["settings"];
    r.cache = s["method"];
    r.cache_threshold = s["threshold"];
    if (s.contains("table")) r.cache_table = s["table"];
    if (s.contains("teacache_e0")) r.teacache_e0 = s["teacache_e0"];
    if (s.contains("max_skip_steps")) r.cache_max_skip = s["max_skip_steps"];
    if (s.contains("retention_ratio")) r.cache_retention = s["retention_ratio"];
  }
  r.output = (scratch / "out.mp4").string();
  r.dump_latents_dir = (scratch / "dump").string();
  r.dry_run = dry_run;
  Run run;
  run.result = engine->generate(r);
  if (dry_run) return run;
  for (int i = 0; i < r.steps.value(); ++i) {
    char file[32];
    std::snprintf(file, sizeof(file), "step_%03d.safetensors", i);
    run.latents.push_back(
        io::WeightStore::open_file(scratch / "dump" / file).tensor("latents").clone());
  }
  return run;
}

void check_case(const std::string& name) {
  SCOPED_TRACE(name);
  const auto& c = find_case(name);
  const Run run = generate(c);
  const auto golden = io::WeightStore::open_file(golden_dir() / "runs.safetensors");
  double worst = 0;
  for (size_t i = 0; i < run.latents.size(); ++i) {
    const std::string key = "step" + std::to_string(i) + ".latents";
    const at::Tensor want = golden.tensor(c["outputs"][key].get<std::string>());
    const double rel = test::relative_error(run.latents[i], want);
    worst = std::max(worst, rel);
    EXPECT_LE(rel, kMaxRel) << key;
  }
  if (c.contains("steps_run")) {
    EXPECT_EQ(run.result.cache_steps, c["steps_run"].get<std::vector<bool>>());
    EXPECT_EQ(run.result.cache, c["settings"]["method"]);
  } else {
    EXPECT_TRUE(run.result.cache_steps.empty());
  }
  std::printf("%s: worst step rel err %.2e vs the reference; blocks ran on %d of %zu steps\n",
              name.c_str(), worst,
              static_cast<int>(
                  std::count(run.result.cache_steps.begin(), run.result.cache_steps.end(), true)),
              run.latents.size());
}

TEST(StepCache, UncachedRunMatches) { check_case("uncached"); }
TEST(StepCache, MagCacheMatchesDiffusersHook) { check_case("magcache"); }
TEST(StepCache, MagCacheOneSkipAtATimeMatchesDiffusersHook) { check_case("magcache_k1"); }
// FirstBlockCache decides per context from the data: at 0.905 cond and uncond part ways at steps
// 3 and 5 (one row runs the rest of the blocks, the other reuses), which rayvid's batch-2 forward
// must reproduce row by row.
TEST(StepCache, FirstBlockCacheMatchesDiffusersHookRowByRow) {
  const auto& c = find_case("fbcache");
  EXPECT_NE(c["cond_run"], c["uncond_run"]) << "the case no longer splits the rows";
  check_case("fbcache");
}
TEST(StepCache, FirstBlockCacheHighThresholdMatchesDiffusersHook) { check_case("fbcache_high"); }
TEST(StepCache, TeaCacheEmbeddingModeMatchesTheReference) { check_case("teacache_e"); }
TEST(StepCache, TeaCacheProjectedModeMatchesTheReference) { check_case("teacache_e0"); }

// --dry-run knows TeaCache's schedule before anything runs (the scheduler's timesteps through the
// checkpoint's time MLP alone), and it is the one the run takes, in both modes.
TEST(StepCache, TeaCacheScheduleIsKnownAtPlanTime) {
  for (const char* name : {"teacache_e", "teacache_e0"}) {
    SCOPED_TRACE(name);
    const auto& c = find_case(name);
    EXPECT_EQ(generate(c, /*dry_run=*/true).result.cache_steps,
              c["steps_run"].get<std::vector<bool>>());
  }
}

// The plan-time MagCache schedule is diffusers' decisions, and its interpolation diffusers'
// nearest_interp, exactly.
TEST(StepCache, MagCacheScheduleAndInterpolationAreDiffusers) {
  for (const char* name : {"magcache", "magcache_k1"}) {
    const auto& c = find_case(name);
    const auto& s = c["settings"];
    pipeline::StepCacheSettings settings;
    settings.method = "magcache";
    ASSERT_TRUE(pipeline::fill_step_cache_table(s["table"], settings));
    settings.threshold = s["threshold"];
    settings.max_skip_steps = s["max_skip_steps"];
    settings.retention_ratio = s["retention_ratio"];
    const int steps = manifest()["params"]["steps"];
    const auto interpolated = pipeline::nearest_interp(settings.mag_ratios, steps);
    const auto want = s["mag_ratios_interpolated"].get<std::vector<double>>();
    ASSERT_EQ(interpolated.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_FLOAT_EQ(static_cast<float>(interpolated[i]), static_cast<float>(want[i])) << i;
    EXPECT_EQ(pipeline::magcache_schedule(settings, steps), c["steps_run"].get<std::vector<bool>>())
        << name;
  }
}

}  // namespace
}  // namespace rayvid
