// CLIP vision single files as ComfyUI ships clip_vision_h (scripts/reference/extra_clip_file.py):
// the config from the shapes (heads from ViT-H/14's 80-wide heads), and the penultimate hidden
// state equal to transformers' on each form's weights; open_clip's layout is named and refused.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "engine/request_plan.h"
#include "models/clip/image_encoder.h"
#include "models/clip/single_file.h"
#include "models/model_folder.h"
#include "rayvid/error.h"
#include "support/golden.h"
#include "support/test_env.h"

namespace rayvid::models::clip {
namespace {

struct Fixture {
  test::GoldenSet golden = test::GoldenSet::extra("clip_file");
  at::Tensor tensor(const std::string& name) const {
    return golden.tensor("golden.safetensors", name);
  }
  std::filesystem::path file(const std::string& form) const {
    return golden.dir() / "files" / (form + ".safetensors");
  }
};

TEST(ClipSingleFile, ConfigFromTheShapes) {
  const Fixture fx;
  const ClipFile file = open_clip_file(fx.file("comfy_fp32"));
  const CLIPVisionConfig& c = file.config;
  EXPECT_EQ(c.hidden_size, 160);
  EXPECT_EQ(c.num_attention_heads, 2);  // 160 / 80
  EXPECT_EQ(c.num_hidden_layers, 3);
  EXPECT_EQ(c.intermediate_size, 64);
  EXPECT_EQ(c.image_size, 56);
  EXPECT_EQ(c.patch_size, 14);
  EXPECT_EQ(c.projection_dim, 32);
  EXPECT_TRUE(c.has_projection);
  EXPECT_EQ(c.act, ClipAct::kGelu);
  // The config round-trips through the JSON a component entry carries.
  EXPECT_EQ(CLIPVisionConfig::from_json(io::JsonFile::from_json(c.to_json(), "x")).summary(),
            c.summary());
  const CLIPImageProcessorConfig p = wan_clip_processor(c);
  EXPECT_EQ(p.crop_height, 56);
  EXPECT_EQ(p.shortest_edge, 56);
  EXPECT_EQ(wan_clip_processor(CLIPVisionConfig::vit_h_14()).crop_height, 224);
}

TEST(ClipSingleFile, PenultimateStateMatchesTransformers) {
  const Fixture fx;
  for (const std::string form : {"comfy_fp32", "comfy_fp16"}) {
    SCOPED_TRACE(form);
    const ClipFile file = open_clip_file(fx.file(form));
    const ImageEncoder encoder =
        ImageEncoder::assemble(wan_clip_processor(file.config), file.config, file.source,
                               c10::Device(c10::kCPU), at::kFloat);
    EXPECT_TRUE(test::close_to(encoder.encode_pixels(fx.tensor("pixel_values")),
                               fx.tensor("out." + form), 1e-5));
  }
}

TEST(ClipSingleFile, OtherLayoutsAreRefusedNamingThem) {
  const Fixture fx;
  try {
    open_clip_file(fx.file("open_clip_layout"));
    FAIL() << "open_clip's layout opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
    EXPECT_NE(std::string(e.what()).find("open_clip"), std::string::npos) << e.what();
  }
}

// --image-encoder FILE: the component is the file with its detected config, and no
// image_processor/ is needed; the components are still checked against each other (this tiny
// tower is 160 wide, the fixture DiT expects 48-wide image tokens).
TEST(ClipSingleFile, AssembledAsTheImageEncoderAndCrossChecked) {
  const Fixture fx;
  const auto single = test::fixtures_dir() / "golden_extra" / "single_file";
  ModelSources s;
  s.model = single / "files" / "orig_fp32.safetensors";
  s.vae = single / "model" / "vae";
  s.text_encoder = single / "model" / "text_encoder";
  s.tokenizer = single / "model" / "tokenizer";
  s.image_encoder = fx.file("comfy_fp16");
  const ModelFolder folder = ModelFolder::open(s);
  ASSERT_NE(folder.find("image_encoder"), nullptr);
  EXPECT_EQ(folder.find("image_encoder")->file, fx.file("comfy_fp16"));
  EXPECT_EQ(folder.find("image_processor"), nullptr);
  EXPECT_EQ(folder.component_config("image_encoder").get_or<int64_t>("hidden_size", 0), 160);
  try {
    engine::describe_model(folder);
    FAIL() << "a 160-wide CLIP passed for a DiT that takes 48-wide image tokens";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hidden_size 160"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rayvid::models::clip
