// `rayvid bench --arch` below the CLI: the variant table agrees with the DiT's own presets and
// parameter count, a tiny architecture runs through the real loop and VAE, and requests that
// cannot fit or have impossible sizes fail before anything is allocated.
#include "tools/bench/arch_bench.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "pipeline/step_cache.h"

#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

#include "models/wan_dit/weights.h"
#include "rayvid/error.h"
#include "tools/bench/arch_spec.h"

namespace rayvid::tools::bench {
namespace {

// The planner's names -> the DiT presets they stand for.
const std::map<std::string, std::string> kDitPresets = {{"wan2.1-1.3b", "wan2.1-t2v-1.3b"},
                                                        {"wan2.1-14b", "wan2.1-t2v-14b"},
                                                        {"wan2.1-i2v-14b", "wan2.1-i2v-14b"},
                                                        {"wan2.2-5b", "wan2.2-ti2v-5b"},
                                                        {"wan2.2-a14b", "wan2.2-t2v-a14b"}};

TEST(ArchBench, EveryVariantIsTheDiTPresetOfTheSameName) {
  ASSERT_EQ(arch_names().size(), kDitPresets.size());
  for (const auto& name : arch_names()) {
    ASSERT_TRUE(kDitPresets.count(name)) << name;
    EXPECT_EQ(dit_config(arch_spec(name)),
              models::wan_dit::WanDiTConfig::preset(kDitPresets.at(name)))
        << name;
  }
  EXPECT_EQ(vae_config(arch_spec("wan2.2-5b")).z_dim, 48);
  EXPECT_EQ(vae_config(arch_spec("wan2.1-14b")).z_dim, 16);
}

TEST(ArchBench, PlannerParameterCountIsTheBuiltArchitecture) {
  // The model's own tensor list (what WanDiT takes from a checkpoint) summed, against the formula
  // the cost planner uses.
  for (const auto& name : arch_names()) {
    int64_t count = 0;
    for (const auto& [tensor, shape] :
         models::wan_dit::weight_shapes(dit_config(arch_spec(name)))) {
      int64_t n = 1;
      for (int64_t s : shape) n *= s;
      count += n;
    }
    EXPECT_EQ(count, dit_parameters(arch_spec(name))) << name;
  }
}

ArchSpec tiny(bool image_to_video) {
  ArchSpec a = arch_spec(image_to_video ? "wan2.1-i2v-14b" : "wan2.1-1.3b");
  a.name = image_to_video ? "tiny-i2v" : "tiny";
  a.dim = 64, a.heads = 2, a.ffn_dim = 96, a.layers = 2;
  a.text_dim = 24, a.text_tokens = 7;
  if (image_to_video) a.image_dim = 20, a.image_tokens = 5;
  return a;
}

TEST(ArchBench, TimesATinyArchitectureThroughTheRealLoopAndVae) {
  for (const bool i2v : {false, true}) {
    const ArchSpec arch = tiny(i2v);
    ArchBenchOptions options;
    options.device = "cpu";
    options.steps = 2;
    options.warmup_steps = 1;
    std::vector<std::string> events;  // "stage" or "stage i/N"
    options.progress = [&](const Progress& p) {
      events.push_back(p.step > 0 ? fmt::format("{} {}/{}", p.stage, p.step, p.total_steps)
                                  : p.stage);
      EXPECT_GE(p.eta_seconds, 0);
    };
    const ArchTiming t = time_architecture(arch, {32, 48, 5, 16}, options);
    EXPECT_EQ(events, (std::vector<std::string>{"weights", "denoise", "denoise 1/3", "denoise 2/3",
                                                "denoise 3/3", "vae_decode"}));
    EXPECT_EQ(t.step_seconds.size(), 2u) << arch.name;  // the warm-up step is not in the list
    for (double s : t.step_seconds) EXPECT_GT(s, 0);
    EXPECT_EQ(t.dit_parameters, dit_parameters(arch)) << arch.name;
    EXPECT_EQ(t.tokens, 2 * 3 * 2);  // (5-1)/4+1 latent frames x 48/16 x 32/16
    EXPECT_EQ(t.latent_shape, (std::vector<int64_t>{1, 16, 2, 6, 4}));
    EXPECT_EQ(t.video_shape, (std::vector<int64_t>{1, 3, 5, 48, 32}));  // the real Wan2.1 VAE
    EXPECT_GT(t.vae_decode_seconds, 0);
    EXPECT_TRUE(t.finite) << arch.name;
    EXPECT_GT(t.peak_memory_bytes, 0);
    EXPECT_EQ(t.dtype, "fp32");
    EXPECT_EQ(t.device.rfind("cpu", 0), 0u) << t.device;
  }
}

// The whole-schedule options: a step cache's decisions and forwards, guidance on part of the
// steps, and a recipe's own schedule (benchmarks/cache/arch.sh).
TEST(ArchBench, TimesWholeSchedulesWithCachesRecipesAndPartialGuidance) {
  const ArchSpec arch = tiny(false);
  ArchBenchOptions options;
  options.device = "cpu";
  options.decode = false;
  options.steps = 10;
  pipeline::StepCacheSettings magcache;
  magcache.method = "magcache";
  ASSERT_TRUE(pipeline::fill_step_cache_table("t2v-1.3b", magcache));
  magcache.threshold = 0.04;
  options.step_cache = magcache;
  ArchTiming t = time_architecture(arch, {32, 48, 5, 16}, options);
  const auto schedule = pipeline::magcache_schedule(magcache, 10);
  EXPECT_EQ(t.cache_steps, schedule);
  const int ran = static_cast<int>(std::count(schedule.begin(), schedule.end(), true));
  EXPECT_LT(ran, 10);
  EXPECT_EQ(t.dit_forwards, 2 * ran);     // guided: two branches per step that ran
  EXPECT_EQ(t.step_seconds.size(), 10u);  // the whole schedule, no warm-up
  EXPECT_GT(t.denoise_seconds, 0);
  options.step_cache.reset();
  options.guided_steps = 4;
  EXPECT_EQ(time_architecture(arch, {32, 48, 5, 16}, options).dit_forwards, 2 * 4 + 6);
  options.guided_steps = -1;
  options.recipe = "distill-4step";
  t = time_architecture(arch, {32, 48, 5, 16}, options);
  EXPECT_EQ(t.step_seconds.size(), 4u);
  EXPECT_EQ(t.dit_forwards, 4);  // no guidance
}

TEST(ArchBench, ImpossibleRequestsFailBeforeAllocating) {
  ArchSpec huge = arch_spec("wan2.1-14b");
  huge.dim = 1 << 20;  // ~5e14 parameters: no machine has the RAM
  ArchBenchOptions options;
  options.device = "cpu";
  try {
    time_architecture(huge, {832, 480, 81, 16}, options);
    FAIL() << "expected an out-of-memory error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kOutOfMemory);
    EXPECT_NE(std::string(e.what()).find("--dtype bf16"), std::string::npos) << e.what();
  }
  try {
    time_architecture(tiny(false), {40, 48, 5, 16}, options);
    FAIL() << "expected a bad size";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("multiples of 16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rayvid::tools::bench
