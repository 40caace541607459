// End-to-end parity with the diffusers Wan pipelines on every tiny family (text-to-video, Wan2.1
// image-to-video with CLIP, first and last frame, Wan2.2 TI2V text and image, two experts), with
// and without guidance:
// the same seed gives the same initial noise, every step's latent and the decoded video match
// within 1e-3 relative error in fp32. The engine runs exactly as `rayvid generate` does; its
// --dump-latents hook exposes the intermediates.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "io/safetensors.h"
#include "rayvid/rayvid.h"
#include "support/golden.h"
#include "support/test_env.h"

namespace rayvid {
namespace {
namespace fs = std::filesystem;
using test::close_to;

at::Tensor dumped(const fs::path& dir, const std::string& file, const std::string& name) {
  return io::WeightStore::open_file(dir / file).tensor(name).clone();
}

void run_case(const std::string& family, const nlohmann::json& c, const test::GoldenSet& golden,
              const fs::path& model_dir) {
  const auto& p = c["params"];
  const std::string name = c["name"];
  SCOPED_TRACE(family + " " + name);
  const fs::path scratch = test::scratch_dir("pipeline_" + family + "_" + name);

  EngineOptions options;
  options.model_dir = model_dir.string();
  options.device = "cpu";
  options.dtype = "fp32";
  auto engine = Engine::open(options);

  GenerateRequest request;
  request.prompt = p["prompt"];
  if (p["negative_prompt"].is_string()) request.negative_prompt = p["negative_prompt"];
  request.width = p["width"];
  request.height = p["height"];
  request.frames = p["num_frames"];
  request.steps = p["num_inference_steps"];
  request.seed = p["seed"];
  request.guidance_scale = p["guidance_scale"];
  if (p["guidance_scale_2"].is_number()) request.guidance_scale_2 = p["guidance_scale_2"];
  if (p.contains("image_png"))
    request.image = (golden.dir() / p["image_png"].get<std::string>()).string();
  if (p.contains("last_image_png"))
    request.last_image = (golden.dir() / p["last_image_png"].get<std::string>()).string();
  // VACE: keyframes (frame -> PNG), reference images, a control video.
  if (p.contains("keyframes"))
    for (const auto& [frame, png] : p["keyframes"].items())
      request.keyframes[std::stoi(frame)] = (golden.dir() / png.get<std::string>()).string();
  if (p.contains("reference_pngs"))
    for (const auto& png : p["reference_pngs"])
      request.reference_images.push_back((golden.dir() / png.get<std::string>()).string());
  if (p.contains("control_video"))
    request.control_video = (golden.dir() / p["control_video"].get<std::string>()).string();
  request.output = (scratch / "out.mp4").string();
  request.dump_latents_dir = (scratch / "dump").string();
  const GenerateResult result = engine->generate(request);
  ASSERT_TRUE(fs::is_regular_file(result.video_path));

  const std::string file = c["file"];
  const auto& out = c["outputs"];
  const fs::path dump = scratch / "dump";
  EXPECT_TRUE(close_to(dumped(dump, "noise.safetensors", "noise"),
                       golden.tensor(file, out["initial_latents"]), 0.0))
      << "initial noise differs from torch.Generator('cpu').manual_seed(seed)";
  const int steps = p["num_inference_steps"];
  for (int i = 0; i < steps; ++i) {
    const std::string key = "step" + std::to_string(i) + ".latents";
    char step_file[32];
    std::snprintf(step_file, sizeof(step_file), "step_%03d.safetensors", i);
    EXPECT_TRUE(close_to(dumped(dump, step_file, "latents"), golden.tensor(file, out[key]), 1e-3))
        << key;
  }
  EXPECT_TRUE(close_to(dumped(dump, "video.safetensors", "video"),
                       golden.tensor(file, out["vae_decode_output"]), 1e-3))
      << "decoded video";
}

void run_cases(const std::string& family, const test::GoldenSet& golden,
               const fs::path& model_dir) {
  int cases = 0;
  for (const auto& c : golden.manifest().json()["cases"]) {
    if (c["kind"] != "pipeline") continue;
    run_case(family, c, golden, model_dir);
    ++cases;
  }
  EXPECT_GE(cases, 2) << "with and without guidance";
}

void run_family(const std::string& family) {
  run_cases(family, test::GoldenSet(family), test::fixtures_dir() / "models" / family);
}

TEST(PipelineGolden, Wan21TextToVideo) { run_family("wan21_t2v"); }
TEST(PipelineGolden, Wan21ImageToVideoWithClip) { run_family("wan21_i2v"); }
TEST(PipelineGolden, Wan22TI2VTextAndImage) { run_family("wan22_ti2v"); }
TEST(PipelineGolden, Wan22TwoExperts) { run_family("wan22_a14b"); }
// Wan2.1 FLF2V: WanImageToVideoPipeline(image=first, last_image=last) on a tiny FLF2V folder
// (scripts/reference/extra_flf2v.py): CLIP tokens of both frames with the embedder's positions,
// the last frame in the VAE condition and the mask.
TEST(PipelineGolden, Wan21FirstAndLastFrame) {
  const auto golden = test::GoldenSet::extra("flf2v");
  run_cases("flf2v", golden, golden.dir() / "model");
}
// Wan2.1 VACE: WanVACEPipeline with a reference image, first+last frame (with and without
// guidance), keyframes in the middle, and a control video (scripts/reference/extra_vace.py).
TEST(PipelineGolden, Wan21VaceReferencesKeyframesAndControlVideo) {
  const auto golden = test::GoldenSet::extra("vace");
  run_cases("vace", golden, golden.dir() / "model");
}

}  // namespace
}  // namespace rayvid
