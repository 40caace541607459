// CLIP vision encoder parity with transformers' CLIPVisionModelWithProjection as
// WanImageToVideoPipeline.encode_image uses it (hidden_states[-2]) on the tiny model, for three
// images (square, landscape, portrait), fp32 and bf16; preprocessing parity with
// CLIPImageProcessor (PIL backend); the real ViT-H/14 architecture against transformers' names.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>

#include "core/device.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "models/clip/image_encoder.h"
#include "models/clip/preprocess.h"
#include "models/weights.h"
#include "rayvid/error.h"
#include "support/golden.h"
#include "support/test_env.h"

namespace rayvid::models::clip {
namespace {

namespace fs = std::filesystem;

fs::path model_dir() { return test::fixtures_dir() / "models" / "wan21_i2v"; }

struct ClipCase {
  std::string name, png, pixel_values, encode_image, encode_image_bf16;
};

std::vector<ClipCase> clip_cases(const test::GoldenSet& golden) {
  std::vector<ClipCase> out;
  for (const auto& c : golden.manifest().json().at("cases")) {
    if (c.at("kind") != "clip_encode_image") continue;
    out.push_back({c.at("name"), c.at("inputs").at("png"), c.at("inputs").at("pixel_values"),
                   c.at("outputs").at("encode_image"), c.at("outputs").at("encode_image_bf16")});
  }
  return out;
}

TEST(CLIPParity, Fp32OnReferencePixelValues) {
  test::GoldenSet golden("wan21_i2v");
  const auto enc = ImageEncoder::load_from_model_folder(model_dir(), at::kCPU, at::kFloat);
  const auto cases = clip_cases(golden);
  ASSERT_EQ(cases.size(), 3u);
  for (const auto& c : cases) {
    const auto out = enc.encode_pixels(golden.tensor("clip.safetensors", c.pixel_values));
    EXPECT_TRUE(test::close_to(out, golden.tensor("clip.safetensors", c.encode_image), 1e-4))
        << c.name;
  }
}

TEST(CLIPParity, Bf16OnReferencePixelValues) {
  test::GoldenSet golden("wan21_i2v");
  const auto enc = ImageEncoder::load_from_model_folder(model_dir(), at::kCPU, at::kBFloat16);
  for (const auto& c : clip_cases(golden)) {
    const auto out = enc.encode_pixels(golden.tensor("clip.safetensors", c.pixel_values));
    ASSERT_EQ(out.scalar_type(), at::kBFloat16);
    std::cout << "[parity] clip bf16 " << c.name << ": rel err vs ref bf16 "
              << test::relative_error(out.to(at::kFloat),
                                      golden.tensor("clip.safetensors", c.encode_image_bf16))
              << ", vs ref fp32 "
              << test::relative_error(out.to(at::kFloat),
                                      golden.tensor("clip.safetensors", c.encode_image))
              << "\n";
    EXPECT_TRUE(test::close_to(out.to(at::kFloat),
                               golden.tensor("clip.safetensors", c.encode_image_bf16), 1e-2))
        << c.name;
    EXPECT_TRUE(
        test::close_to(out.to(at::kFloat), golden.tensor("clip.safetensors", c.encode_image), 1e-2))
        << c.name;
  }
}

TEST(CLIPPreprocess, MatchesCLIPImageProcessorOnThreeShapes) {
  // Our PIL-resample port against transformers' CLIPImageProcessor (PIL backend) on the same
  // decoded PNG: the fixed-point arithmetic is reproduced, so the result should be exact; allow
  // one uint8 step of rounding (1/255/std ~ 0.015 absolute) in case Pillow ever changes it.
  test::GoldenSet golden("wan21_i2v");
  const auto config = CLIPImageProcessorConfig::load(model_dir() / "image_processor");
  for (const auto& c : clip_cases(golden)) {
    const auto image = io::read_image(golden.dir() / c.png);
    const auto ours = preprocess_image(image, config);
    const auto ref = golden.tensor("clip.safetensors", c.pixel_values);
    ASSERT_EQ(ours.sizes(), ref.sizes()) << c.name;
    const double max_abs = (ours - ref).abs().max().item<double>();
    EXPECT_LE(max_abs, 0.016) << c.name;
    EXPECT_TRUE(test::close_to(ours, ref, 1e-6)) << c.name << " max abs diff " << max_abs;
    std::cout << "[parity] preprocess " << c.name << ": max abs diff " << max_abs << "\n";
  }
}

TEST(CLIPParity, ImagesEndToEnd) {
  test::GoldenSet golden("wan21_i2v");
  const auto enc = ImageEncoder::load_from_model_folder(model_dir(), at::kCPU, at::kFloat);
  for (const auto& c : clip_cases(golden)) {
    const auto out = enc.encode(io::read_image(golden.dir() / c.png));
    std::cout << "[parity] clip png->features " << c.name << ": rel err "
              << test::relative_error(out, golden.tensor("clip.safetensors", c.encode_image))
              << "\n";
    EXPECT_EQ(out.sizes(), (at::IntArrayRef{1, 17, 48}));
    EXPECT_TRUE(test::close_to(out, golden.tensor("clip.safetensors", c.encode_image), 1e-4))
        << c.name;
  }
}

TEST(CLIPParity, BatchOfThreeImages) {
  const auto dir = test::fixtures_dir() / "golden_extra" / "encoders";
  ASSERT_TRUE(fs::exists(dir / "clip_extra.safetensors"))
      << "run scripts/reference/extra_encoders.py --out " << test::fixtures_dir();
  const auto manifest = io::JsonFile::load(dir / "manifest.json");
  std::vector<io::Image> images;
  for (const auto& p : manifest.json().at("params").at("clip_batch_pngs")) {
    images.push_back(io::read_image(test::fixtures_dir() / p.get<std::string>()));
  }
  ASSERT_EQ(images.size(), 3u);
  const auto store = io::WeightStore::open_file(dir / "clip_extra.safetensors");
  const auto enc = ImageEncoder::load_from_model_folder(model_dir(), at::kCPU, at::kFloat);
  const auto ref = store.tensor("batch.encode_image");
  EXPECT_TRUE(test::close_to(enc.encode_pixels(store.tensor("batch.pixel_values")), ref, 1e-4));
  EXPECT_TRUE(test::close_to(enc.encode(images), ref, 1e-4));
}

TEST(CLIPParity, RunsOnCuda) {
  if (!cuda_available()) GTEST_SKIP() << "needs a GPU";
  test::GoldenSet golden("wan21_i2v");
  const auto enc = ImageEncoder::load_from_model_folder(model_dir(), at::kCUDA, at::kFloat);
  for (const auto& c : clip_cases(golden)) {
    const auto out = enc.encode_pixels(golden.tensor("clip.safetensors", c.pixel_values));
    EXPECT_TRUE(out.is_cuda());
    EXPECT_TRUE(test::close_to(out.cpu(), golden.tensor("clip.safetensors", c.encode_image), 1e-4));
  }
}

TEST(CLIPPreprocess, ShortestEdgeSizesLikeTransformers) {
  EXPECT_EQ(shortest_edge_size(48, 96, 56), (std::pair<int, int>{56, 112}));
  EXPECT_EQ(shortest_edge_size(72, 40, 56), (std::pair<int, int>{100, 56}));  // int(56*72/40)=100
  EXPECT_EQ(shortest_edge_size(480, 832, 224), (std::pair<int, int>{224, 388}));  // 388.26 -> 388
  EXPECT_EQ(shortest_edge_size(224, 224, 224), (std::pair<int, int>{224, 224}));
}

TEST(CLIPErrors, BadInputsAreClearErrors) {
  const auto enc = ImageEncoder::load_from_model_folder(model_dir(), at::kCPU, at::kFloat);
  EXPECT_THROW(enc.encode_pixels(at::zeros({1, 3, 32, 32})), Error);
  EXPECT_THROW(enc.encode_pixels(at::zeros({3, 56, 56})), Error);
  EXPECT_THROW(enc.encode(io::Image{}), Error);
  EXPECT_THROW(enc.encode(std::vector<io::Image>{}), Error);
  auto json = nlohmann::json::parse(std::ifstream(model_dir() / "image_encoder" / "config.json"));
  json["hidden_size"] = 50;  // not divisible by 3 heads
  EXPECT_THROW(CLIPVisionConfig::from_json(io::JsonFile::from_json(json, "config.json")), Error);
  json["hidden_size"] = 48;
  json["hidden_act"] = "relu";
  EXPECT_THROW(CLIPVisionConfig::from_json(io::JsonFile::from_json(json, "config.json")), Error);
  auto proc = nlohmann::json::parse(
      std::ifstream(model_dir() / "image_processor" / "preprocessor_config.json"));
  proc["resample"] = 1;  // LANCZOS: not implemented
  EXPECT_THROW(CLIPImageProcessorConfig::from_json(io::JsonFile::from_json(proc, "p.json")), Error);
}

TEST(CLIPErrors, MissingTensorIsReported) {
  const auto config = CLIPVisionConfig::load(model_dir() / "image_encoder");
  const auto store = io::WeightStore::open_folder(model_dir() / "image_encoder");
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& n : store.names()) shapes[n] = store.info(n).shape;
  shapes.erase("vision_model.encoder.layers.2.mlp.fc2.bias");
  try {
    build_clip_vision_encoder(config, ShapeOnlySource(shapes, "broken clip"), at::kCPU, at::kFloat);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing vision_model.encoder.layers.2.mlp.fc2.bias"),
              std::string::npos)
        << e.what();
  }
}

TEST(CLIPRealArchitecture, ViTH14NamesAndShapesMatchTransformers) {
  const auto path = test::fixtures_dir() / "meta_shapes" / "clip_vit_h14_vision.json";
  const auto file = io::JsonFile::load(path);
  const auto config = CLIPVisionConfig::from_json(
      io::JsonFile::from_json(file.json().at("config"), path.string() + ": config"));
  EXPECT_EQ(config.hidden_size, 1280);
  EXPECT_EQ(config.num_hidden_layers, 32);
  EXPECT_EQ(config.num_positions(), 257);
  EXPECT_EQ(config.act, ClipAct::kGelu);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& t : file.json().at("tensors"))
    shapes[t.at("name")] = t.at("shape").get<std::vector<int64_t>>();
  std::map<std::string, std::vector<int64_t>> taken;
  const auto enc = build_clip_vision_encoder(config, ShapeOnlySource(shapes, "meta vit-h/14"),
                                             at::kMeta, at::kBFloat16, &taken);
  EXPECT_EQ(taken, shapes);
  EXPECT_EQ(enc.config().num_positions(), 257);  // output [B, 257, 1280] (the benchmark runs it)
  // Older exports carry the position_ids buffer; it is accepted.
  shapes["vision_model.embeddings.position_ids"] = {1, 257};
  EXPECT_NO_THROW(build_clip_vision_encoder(config, ShapeOnlySource(shapes, "with position_ids"),
                                            at::kMeta, at::kBFloat16));
}

}  // namespace
}  // namespace rayvid::models::clip
