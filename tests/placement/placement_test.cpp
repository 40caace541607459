// Device placement without a GPU: the whole generation (text and image encoding, the image
// condition, the seeded noise, the denoising loop with guidance and expert switch, the decode) runs
// with the compute device set to LibTorch's lazy device (TorchScript backend). Lazy tensors are a
// real second device: they compute real values (on the CPU, through TorchScript), and any op that
// mixes one with a CPU tensor throws ("Input tensor is not a lazy tensor"). So a tensor the
// pipeline forgets to put on the compute device (as the engine once did with the latent mean/std,
// the I2V mask and the zero frames) fails here as it would on CUDA, and the result must equal the
// CPU run's. (ATen's meta device was the first choice, but in C++ many ops, embedding among them,
// have no meta kernel: those live in Python.)
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <torch/csrc/lazy/ts_backend/ts_backend_impl.h>

#include "engine/component_factory.h"
#include "engine/request_plan.h"
#include "models/model_folder.h"
#include "pipeline/generation.h"
#include "sampling/scheduler.h"
#include "support/test_env.h"

namespace rayvid {
namespace {
namespace fs = std::filesystem;

class Placement : public ::testing::TestWithParam<std::string> {};

struct Generation {
  at::Tensor video;                 // on the run's device
  std::vector<at::Tensor> latents;  // after each step, on the CPU
  std::vector<std::string> stages;
};

Generation generate_on(const fs::path& dir, c10::Device device) {
  const auto folder = models::ModelFolder::open(dir);
  const auto plan = engine::describe_model(folder);
  engine::LoadOptions load;
  load.device = device;
  load.dtype = c10::kFloat;
  auto text = engine::load_text_encoder(folder, load);
  auto image = plan.has_image_encoder ? engine::load_image_encoder(folder, load) : nullptr;
  auto high = engine::load_denoiser(folder, "transformer", load);
  auto low = plan.two_experts ? engine::load_denoiser(folder, "transformer_2", load) : nullptr;
  auto vae = engine::load_vae(folder, load);

  pipeline::GenerationSpec spec;
  spec.prompt = "a cat";
  spec.negative_prompt = "blurry";
  spec.shape = {64, 64, 5, 16};
  spec.seed = 1;
  spec.guidance_scale = 5;  // batch-2 guidance
  spec.guidance_scale_2 = 4;
  spec.expand_timesteps = plan.expand_timesteps;
  spec.boundary_timestep =
      plan.two_experts ? plan.boundary_ratio * plan.scheduler.num_train_timesteps : -1;
  spec.device = device;
  // Image-to-video wherever the model takes an image (Wan2.1 I2V, TI2V, A14B I2V).
  if (plan.accepts_image) {
    io::Image source;
    source.width = source.height = 64;
    source.rgb.resize(64 * 64 * 3);
    for (size_t i = 0; i < source.rgb.size(); ++i) source.rgb[i] = static_cast<uint8_t>(i * 7);
    spec.source = source;
  }
  auto scheduler = sampling::make_scheduler("unipc", plan.scheduler, 0);
  Generation run;
  pipeline::GenerationHooks hooks;
  hooks.on_stage = [&](const std::string& s) { run.stages.push_back(s); };
  hooks.on_step = [&](int, double, const at::Tensor& latents, const at::Tensor&) {
    EXPECT_EQ(latents.device().type(), device.type());
    run.latents.push_back(latents.cpu());
  };
  run.video = pipeline::generate_video({text.get(), image.get(), high.get(), low.get(), vae.get()},
                                       spec, *scheduler, 4, hooks);
  return run;
}

TEST_P(Placement, WholeGenerationStaysOnTheComputeDevice) {
  static const bool lazy_ready = [] {
    torch::lazy::InitTorchScriptBackend();  // once per process
    return true;
  }();
  ASSERT_TRUE(lazy_ready);
  const fs::path dir = test::fixtures_dir() / "models" / GetParam();
  const Generation lazy = generate_on(dir, c10::Device(c10::kLazy));
  EXPECT_EQ(lazy.video.device().type(), c10::kLazy);
  EXPECT_EQ(lazy.video.sizes(), (std::vector<int64_t>{1, 3, 5, 64, 64}));
  EXPECT_EQ(lazy.latents.size(), 4u);
  EXPECT_EQ(lazy.stages.back(), "vae_decode");
  // The same numbers as on the CPU (TorchScript may fuse differently: rounding-level only).
  const Generation cpu = generate_on(dir, c10::Device(c10::kCPU));
  for (size_t i = 0; i < cpu.latents.size(); ++i)
    EXPECT_TRUE(at::allclose(lazy.latents[i], cpu.latents[i], 1e-4, 1e-5)) << "step " << i;
  EXPECT_TRUE(at::allclose(lazy.video.cpu(), cpu.video, 1e-4, 1e-5));
}

// Every family: T2V, Wan2.1 I2V (CLIP + concat), Wan2.2 TI2V (first frame), two experts.
INSTANTIATE_TEST_SUITE_P(Families, Placement,
                         ::testing::Values("wan21_t2v", "wan21_i2v", "wan22_ti2v", "wan22_a14b"));

}  // namespace
}  // namespace rayvid
