// Wan2.1 VACE's transformer against diffusers' WanVACETransformer3DModel (scripts/reference/
// extra_vace.py): full-length and shorter control (zero-padded tokens), conditioning scales,
// per-row timesteps; the architecture detected from tensors alone; original names for the VACE
// tensors.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "io/json_file.h"
#include "io/safetensors.h"
#include "models/wan_dit/model.h"
#include "models/wan_dit/weight_names.h"
#include "models/wan_dit/weights.h"
#include "support/golden.h"
#include "support/test_env.h"

namespace rayvid::models::wan_dit {
namespace {
namespace fs = std::filesystem;

fs::path root() { return test::fixtures_dir() / "golden_extra" / "vace"; }

TEST(WanDiTVace, MatchesDiffusersForward) {
  const auto manifest = io::JsonFile::load(root() / "component.json");
  const auto store = io::WeightStore::open_file(root() / "component.safetensors");
  WanDiTOptions options;  // CPU, fp32
  const WanDiT dit = WanDiT::load(root() / "component", options);
  ASSERT_TRUE(dit.config().is_vace());
  EXPECT_EQ(dit.config().vace_layers, (std::vector<int64_t>{0, 2}));
  const at::Tensor x = store.tensor("hidden_states").clone();
  const at::Tensor text = store.tensor("encoder_hidden_states").clone();
  const at::Tensor control = store.tensor("control").clone();
  int cases = 0;
  for (const auto& c : manifest.json()["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    ContextCache context = dit.prepare_context(text);
    const int64_t frames = c["params"]["control_frames"];
    dit.set_control(context, control.narrow(2, 0, frames), c["params"]["conditioning_scale"]);
    const at::Tensor t = store.tensor(c["inputs"]["timestep"].get<std::string>()).clone();
    const at::Tensor out = dit.forward(x, t, context);
    const at::Tensor want = store.tensor(c["outputs"]["output"].get<std::string>()).clone();
    EXPECT_TRUE(test::close_to(out, want, 1e-4));
    ++cases;
  }
  EXPECT_EQ(cases, 3);
  // The hints matter: without them (scale 0) the output is another one.
  ContextCache context = dit.prepare_context(text);
  dit.set_control(context, control, 0.0);
  const at::Tensor t = store.tensor("full.timestep").clone();
  EXPECT_FALSE(
      test::close_to(dit.forward(x, t, context), store.tensor("full.output").clone(), 1e-2));
}

TEST(WanDiTVace, ArchitectureFromTensorsAloneAndOriginalNames) {
  const auto folder = root() / "component";
  const WanDiTConfig from_json = WanDiTConfig::load(folder);
  const StoreSource source(io::WeightStore::open_folder(folder), folder.string());
  EXPECT_EQ(WanDiTConfig::detect(source, from_json.attention_head_dim()), from_json);
  // Every VACE tensor has an original-Wan name that maps back (before_proj/after_proj).
  int vace = 0;
  for (const auto& [name, shape] : weight_shapes(from_json)) {
    if (!name.starts_with("vace_")) continue;
    ++vace;
    const auto original = wan_diffusers_to_original(name);
    ASSERT_TRUE(original) << name;
    EXPECT_EQ(wan_original_to_diffusers(*original), name);
  }
  EXPECT_GT(vace, 30);
  EXPECT_EQ(*wan_original_to_diffusers("vace_blocks.0.before_proj.weight"),
            "vace_blocks.0.proj_in.weight");
  EXPECT_EQ(*wan_original_to_diffusers("vace_blocks.1.after_proj.bias"),
            "vace_blocks.1.proj_out.bias");
  EXPECT_EQ(*wan_original_to_diffusers("vace_blocks.1.self_attn.q.weight"),
            "vace_blocks.1.attn1.to_q.weight");
}

}  // namespace
}  // namespace rayvid::models::wan_dit
