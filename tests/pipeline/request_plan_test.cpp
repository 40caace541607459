// The engine's memory check before any heavy work: a request that cannot fit is refused with the
// fix, and a later request of the same engine does not count the weights it already holds twice.
#include "engine/request_plan.h"

#include <gtest/gtest.h>

#include <c10/core/Device.h>

#include "core/memory.h"
#include "models/model_folder.h"
#include "rayvid/error.h"
#include "support/test_env.h"

namespace rayvid::engine {
namespace {

TEST(RequestPlan, LoadedWeightsAreNotCountedAgainstFreeMemoryTwice) {
  const double free_now = static_cast<double>(free_memory_bytes(c10::Device(c10::kCPU)));
  ASSERT_GT(free_now, 0) << "MemAvailable missing from /proc/meminfo";
  ModelPlan model =
      describe_model(models::ModelFolder::open(test::source_dir() / "models" / "rayvid-tiny-ti2v"));
  // Pretend the DiT alone takes 1.2x the memory free now (fp32: 4 bytes a parameter x 1.05).
  model.memory.dit_parameters = free_now * 1.2 / 1.05 / 4;
  GenerateRequest request;
  request.prompt = "a fox";
  request.width = request.height = 64;
  request.frames = 5;
  request.output = (test::scratch_dir("request_plan") / "x.mp4").string();
  LoadOptions load;  // CPU, fp32

  try {
    plan_request(model, request, load, /*weights_loaded=*/false);
    FAIL() << "a first request whose weights cannot fit must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kOutOfMemory);
    EXPECT_NE(std::string(e.what()).find("CPU memory is free"), std::string::npos) << e.what();
  }
  // Once loaded, only the activations and the decode (a few MB at 64x64x5) are still needed.
  const RequestPlan plan = plan_request(model, request, load, /*weights_loaded=*/true);
  EXPECT_GT(plan.estimated_peak_bytes, free_now);  // the estimate itself still includes them
  EXPECT_NEAR(plan.estimated_peak_bytes - estimate_weight_bytes(model, 4), 0, 64.0 * (1 << 20));
}

// The weights' estimate counts parameters in the compute dtype, not file bytes: the same DiT as
// an fp32, an fp16 and an fp8 file (scripts/reference/extra_single_file.py) loads to the same
// memory, though the files differ 2-4x in size.
TEST(RequestPlan, WeightEstimateCountsParametersNotStoredBytes) {
  const auto root = test::fixtures_dir() / "golden_extra" / "single_file";
  auto plan_for = [&](const std::string& form) {
    models::ModelSources s;
    s.model = root / "files" / (form + ".safetensors");
    for (auto [slot, name] : {std::pair{&s.vae, "vae"},
                              {&s.text_encoder, "text_encoder"},
                              {&s.tokenizer, "tokenizer"},
                              {&s.image_encoder, "image_encoder"}})
      *slot = root / "model" / name;
    return describe_model(models::ModelFolder::open(s));
  };
  const ModelPlan fp32 = plan_for("orig_fp32"), fp16 = plan_for("orig_fp16"),
                  fp8 = plan_for("kijai_fp8_e4m3fn");
  EXPECT_GT(fp32.weight_parameters, 0u);
  EXPECT_EQ(fp16.weight_parameters, fp32.weight_parameters);
  EXPECT_EQ(fp8.weight_parameters, fp32.weight_parameters);
  EXPECT_LT(fp8.weight_bytes, fp16.weight_bytes);
  EXPECT_LT(fp16.weight_bytes, fp32.weight_bytes);
  for (int dtype_bytes : {2, 4})
    EXPECT_DOUBLE_EQ(estimate_weight_bytes(fp8, dtype_bytes),
                     estimate_weight_bytes(fp32, dtype_bytes));
  EXPECT_DOUBLE_EQ(estimate_weight_bytes(fp32, 4), fp32.weight_parameters * 4.0 * 1.05);
}

}  // namespace
}  // namespace rayvid::engine
