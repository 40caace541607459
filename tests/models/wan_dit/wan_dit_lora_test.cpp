// LoRA on the Wan DiT against diffusers: one file per key format users download (original Wan
// names with lora_down/up, alpha and the lightx2v full deltas; kohya/musubi; LyCORIS; diffusers
// PEFT with lora_B.bias and adapter metadata; PEFT rs-LoRA), a T2V LoRA on an I2V DiT, an I2V one
// on a T2V DiT, and the second A14B expert. Goldens: golden_extra/lora/ of
// scripts/reference/extra_lora.py (WanPipeline.load_lora_weights + set_adapters at the case's
// strength, then one fp32 forward; the full deltas diffusers drops added by hand as the format
// defines them).
//
// Bound: 1e-5 relative (fp32; rayvid merges the deltas into the weights, diffusers/PEFT runs them
// beside the layer: the same function up to rounding). Measured: see the printed lines.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "io/json_file.h"
#include "io/safetensors.h"
#include "models/wan_dit/lora.h"
#include "models/wan_dit/model.h"
#include "support/golden.h"
#include "support/test_env.h"

namespace rayvid::models::wan_dit {
namespace {
namespace fs = std::filesystem;

constexpr double kMaxRel = 1e-5;

fs::path lora_dir() { return test::fixtures_dir() / "golden_extra" / "lora"; }

const nlohmann::json& manifest() {
  static const io::JsonFile file = io::JsonFile::load(lora_dir() / "manifest.json");
  return file.json();
}

const nlohmann::json& find_case(const std::string& name) {
  for (const auto& c : manifest()["cases"]) {
    if (c["name"] == name) return c;
  }
  throw std::runtime_error("no LoRA case " + name);
}

WanDiT load_dit(const nlohmann::json& c) {
  return WanDiT::load(test::fixtures_dir() / "models" / c["family"].get<std::string>() /
                          c["component"].get<std::string>(),
                      WanDiTOptions{});
}

at::Tensor forward(const WanDiT& dit, const std::string& family) {
  const auto store = io::WeightStore::open_file(lora_dir() / "golden.safetensors");
  const std::vector<int64_t> t = manifest()["params"]["timestep"].get<std::vector<int64_t>>();
  const std::string image_key = family + ".encoder_hidden_states_image";
  const auto context =
      dit.prepare_context(store.tensor(family + ".encoder_hidden_states"),
                          store.contains(image_key) ? store.tensor(image_key) : at::Tensor());
  return dit.forward(store.tensor(family + ".hidden_states"), at::tensor(t), context);
}

at::Tensor golden_output(const nlohmann::json& c) {
  return io::WeightStore::open_file(lora_dir() / "golden.safetensors")
      .tensor(c["output"].get<std::string>());
}

LoraSpec spec_of(const nlohmann::json& c) {
  return {lora_dir() / c["file"].get<std::string>(), c["strength"].get<double>()};
}

// Merges the case's LoRA, compares with diffusers, then takes it out again.
void check_case(const std::string& name) {
  SCOPED_TRACE(name);
  const auto& c = find_case(name);
  WanDiT dit = load_dit(c);
  const std::string family = c["family"];
  const at::Tensor base = forward(dit, family);
  LoraMerge merge = LoraMerge::apply(dit, {spec_of(c)}, /*allow_unmatched=*/false);
  ASSERT_EQ(merge.reports().size(), 1u);
  EXPECT_EQ(merge.reports()[0].format, c["format"].get<std::string>());
  EXPECT_GT(merge.reports()[0].tensors_changed, 0);
  const at::Tensor out = forward(dit, family);
  const at::Tensor want = golden_output(c);
  const double rel = test::relative_error(out, want);
  const double effect = test::relative_error(base, want);  // what the LoRA changes at all
  std::printf(
      "%s (%s, strength %.2f, %lld tensors): rel err %.2e vs diffusers; the LoRA moves the "
      "output by %.2e\n",
      name.c_str(), c["format"].get<std::string>().c_str(), c["strength"].get<double>(),
      static_cast<long long>(merge.reports()[0].tensors_changed), rel, effect);
  EXPECT_LE(rel, kMaxRel);
  EXPECT_GT(effect, 1e-2) << "the LoRA barely changes the output: the test could not tell";
  merge.undo(dit);
  EXPECT_TRUE(test::close_to(forward(dit, family), base, 1e-6)) << "undo did not restore";
}

TEST(WanDiTLora, OriginalFormatWithAlphaAndFullDeltas) { check_case("original"); }
TEST(WanDiTLora, KohyaMusubi) { check_case("kohya"); }
TEST(WanDiTLora, Lycoris) { check_case("lycoris"); }
TEST(WanDiTLora, DiffusersPeftWithBiasAndMetadata) { check_case("diffusers"); }
TEST(WanDiTLora, PeftRsLora) { check_case("rslora"); }
TEST(WanDiTLora, I2vLoraOnI2vModel) { check_case("i2v_on_i2v"); }
TEST(WanDiTLora, T2vLoraOnI2vModel) { check_case("t2v_on_i2v"); }
TEST(WanDiTLora, SecondExpertOfA14b) { check_case("a14b_low"); }

// An I2V LoRA on a T2V DiT: its image-branch keys name nothing here and are skipped (listed), the
// rest applies, as diffusers does with those keys removed.
TEST(WanDiTLora, I2vLoraOnT2vModelSkipsTheImageBranch) {
  const auto& c = find_case("i2v_on_t2v");
  WanDiT dit = load_dit(c);
  const LoraMerge merge = LoraMerge::apply(dit, {spec_of(c)}, false);
  EXPECT_EQ(static_cast<int64_t>(merge.reports()[0].skipped.size()),
            c["skipped_keys"].get<int64_t>());
  EXPECT_TRUE(merge.reports()[0].unmatched.empty());
  EXPECT_TRUE(test::close_to(forward(dit, c["family"]), golden_output(c), kMaxRel));
}

// A key that names nothing is an error that lists it, before any weight changes; allowed, the
// rest of the file applies and the key is reported.
TEST(WanDiTLora, UnmatchedKeysAreAnErrorListingThem) {
  const auto& c = find_case("unmatched");
  WanDiT dit = load_dit(c);
  const at::Tensor base = forward(dit, c["family"]);
  try {
    LoraMerge::apply(dit, {spec_of(c)}, false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadArgument);
    const std::string what = e.what();
    for (const auto& key : c["unmatched_keys"]) {
      EXPECT_NE(what.find(key.get<std::string>()), std::string::npos) << what;
    }
    EXPECT_NE(what.find("--lora-allow-unmatched"), std::string::npos) << what;
  }
  EXPECT_TRUE(at::equal(forward(dit, c["family"]), base)) << "weights changed before the error";
  const LoraMerge merge = LoraMerge::apply(dit, {spec_of(c)}, true);
  EXPECT_EQ(merge.reports()[0].unmatched.size(), c["unmatched_keys"].size());
  EXPECT_FALSE(at::equal(forward(dit, c["family"]), base));
}

// Two LoRAs stack (the deltas add), and strength 0 changes nothing.
TEST(WanDiTLora, LorasStackAndStrengthZeroIsANoOp) {
  const auto& kohya = find_case("kohya");
  const auto& original = find_case("original");
  WanDiT dit = load_dit(kohya);
  const at::Tensor base = forward(dit, "wan21_t2v");
  LoraSpec zero = spec_of(kohya);
  zero.strength = 0;
  LoraMerge::apply(dit, {zero}, false);
  EXPECT_TRUE(at::equal(forward(dit, "wan21_t2v"), base));
  const LoraMerge both = LoraMerge::apply(dit, {spec_of(kohya), spec_of(original)}, false);
  EXPECT_EQ(both.reports().size(), 2u);
  // Each alone moves the output; together they move it by neither alone.
  const at::Tensor together = forward(dit, "wan21_t2v");
  EXPECT_FALSE(test::close_to(together, golden_output(kohya), 1e-3));
  EXPECT_FALSE(test::close_to(together, golden_output(original), 1e-3));
}

// A LoRA merged into fp8-stored weights: dequantized, changed and quantized again per row. The
// result is lossy (fp8), so it is checked against diffusers' merge by how much of the LoRA's
// effect it reproduces; taking it out again is refused (the rounding cannot be undone).
TEST(WanDiTLora, MergesIntoFp8StoredWeights) {
  const auto& c = find_case("kohya");
  const std::string family = c["family"];
  WanDiTOptions options;
  options.weight_storage = WeightStorage::kFp8;
  WanDiT dit = WanDiT::load(
      test::fixtures_dir() / "models" / family / c["component"].get<std::string>(), options);
  const at::Tensor want = golden_output(c);
  const double before = test::relative_error(forward(dit, family), want);
  LoraMerge merge = LoraMerge::apply(dit, {spec_of(c)}, /*allow_unmatched=*/false);
  EXPECT_EQ(dit.weights().blocks[0].attn1.to_q.weight.scalar_type(), at::kFloat8_e4m3fn);
  const double after = test::relative_error(forward(dit, family), want);
  std::printf("fp8 storage: %.2e from diffusers' merged output before the merge, %.2e after\n",
              before, after);
  EXPECT_LT(after, 0.2 * before);
  EXPECT_LT(after, 0.05);
  try {
    merge.undo(dit);
    FAIL() << "undo on fp8-stored weights";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kUnsupported);
  }
}

TEST(WanDiTLora, NotALoraFileIsRefused) {
  const auto& c = find_case("kohya");
  WanDiT dit = load_dit(c);
  const fs::path model_file = test::fixtures_dir() / "models" / "wan21_t2v" / "transformer" /
                              "diffusion_pytorch_model.safetensors";
  try {
    LoraMerge::apply(dit, {{model_file, 1.0}}, false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
    EXPECT_NE(std::string(e.what()).find("not a LoRA file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rayvid::models::wan_dit
