// Single-file DiT checkpoints as users download them (scripts/reference/extra_single_file.py):
// the original Wan layout bare or under a wrapper prefix, fp32/fp16/bf16, Kijai's unscaled fp8,
// ComfyUI's fp8_scaled and its newer mixed-precision form. Each loads through CheckpointSource,
// the variant is detected from its shapes, and the output equals diffusers run with the form's
// dequantized weights; the lossless form equals the diffusers folder bit for bit. A scaled file
// missing a scale, and a layer in a format rayvid does not read, are refused.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "models/checkpoint_source.h"
#include "models/fp8_weights.h"
#include "models/wan_dit/model.h"
#include "models/wan_dit/single_file.h"
#include "rayvid/error.h"
#include "support/counting_allocator.h"
#include "support/golden.h"

namespace rayvid::models::wan_dit {
namespace {

const std::vector<std::string> kPrefixes = {"model.diffusion_model.", "diffusion_model.", "model."};

struct Fixture {
  test::GoldenSet golden = test::GoldenSet::extra("single_file");
  at::Tensor tensor(const std::string& name) const {
    return golden.tensor("golden.safetensors", name);
  }
  std::filesystem::path file(const std::string& form) const {
    return golden.dir() / "files" / (form + ".safetensors");
  }
  std::filesystem::path folder() const { return golden.dir() / "model" / "transformer"; }
  at::Tensor run(const WanDiT& dit) const {
    return dit.forward(tensor("hidden_states"), tensor("timestep"),
                       dit.prepare_context(tensor("encoder_hidden_states"),
                                           tensor("encoder_hidden_states_image")));
  }
};

void expect_form(const std::string& form, Fp8Scheme scheme, const std::string& prefix) {
  const Fixture fx;
  const CheckpointSource source = CheckpointSource::open(fx.file(form), kPrefixes);
  EXPECT_EQ(source.fp8_scheme(), scheme) << form;
  EXPECT_EQ(source.stripped_prefix(), prefix) << form;
  for (const auto& name : source.names()) {  // scales and markers are not model tensors
    EXPECT_EQ(name.find("scale"), std::string::npos) << name;
    EXPECT_EQ(name.find("comfy_quant"), std::string::npos) << name;
  }
  const DiTFile file = open_dit_file(fx.file(form));
  const WanDiTConfig& config = file.config;
  EXPECT_EQ(config, WanDiTConfig::load(fx.folder())) << form;
  EXPECT_EQ(file.layout, "original Wan names");
  EXPECT_EQ(file.variant, "custom (wan2.1-i2v style, dim 128, 2 layers)");
  const WanDiT dit(config, source, WanDiTOptions{});
  EXPECT_TRUE(test::close_to(fx.run(dit), fx.tensor("out." + form), 1e-6)) << form;
}

TEST(WanDiTSingleFile, OriginalFp32IsTheFolderBitForBit) {
  const Fixture fx;
  const CheckpointSource source = CheckpointSource::open(fx.file("orig_fp32"), kPrefixes);
  EXPECT_EQ(source.format(), "F32");
  const WanDiT from_folder = WanDiT::load(fx.folder(), WanDiTOptions{});
  const WanDiT from_file(WanDiTConfig::detect(source), source, WanDiTOptions{});
  EXPECT_TRUE(at::equal(fx.run(from_file), fx.run(from_folder)));
  EXPECT_TRUE(test::close_to(fx.run(from_file), fx.tensor("out.orig_fp32"), 1e-6));
}

TEST(WanDiTSingleFile, ComfyBf16WithPrefix) {
  expect_form("comfy_bf16", Fp8Scheme::kNone, "model.diffusion_model.");
}
TEST(WanDiTSingleFile, OriginalFp16WithBarePrefix) {
  expect_form("orig_fp16", Fp8Scheme::kNone, "diffusion_model.");
}
TEST(WanDiTSingleFile, KijaiFp8Unscaled) {
  expect_form("kijai_fp8_e4m3fn", Fp8Scheme::kUnscaled, "");
}
TEST(WanDiTSingleFile, ComfyFp8ScaledLegacy) {
  expect_form("comfy_fp8_scaled", Fp8Scheme::kScaledLegacy, "model.diffusion_model.");
}
TEST(WanDiTSingleFile, ComfyFp8MixedPrecisionPerRowScales) {
  expect_form("comfy_fp8_mixed", Fp8Scheme::kScaledMixed, "");
}

TEST(WanDiTSingleFile, Fp8WeightKeepsItsStoredForm) {
  const Fixture fx;
  const CheckpointSource source = CheckpointSource::open(fx.file("comfy_fp8_mixed"), kPrefixes);
  const auto w = source.fp8_weight("blocks.0.self_attn.q.weight");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->data.scalar_type(), at::kFloat8_e4m3fn);
  EXPECT_EQ(w->scale.numel(), w->data.size(0));  // one scale per output row
  EXPECT_TRUE(at::equal(source.load("blocks.0.self_attn.q.weight"),
                        w->data.to(at::kFloat) * w->scale.reshape({-1, 1})));
  EXPECT_FALSE(source.fp8_weight("blocks.0.norm3.weight").has_value());  // kept in bf16
}

WanDiTOptions fp8_storage() {
  WanDiTOptions options;
  options.weight_storage = WeightStorage::kFp8;
  return options;
}

// Every fp8-storable Linear of `dit` holds float8 data; returns how many there are.
int64_t count_fp8_linears(const WanDiT& dit) {
  int64_t count = 0;
  WanDiTWeights view = dit.weights();
  visit_weights(
      view, dit.config(),
      [](const std::string&, const std::vector<int64_t>&, WeightPrecision, at::Tensor& t) {
        EXPECT_FALSE(is_fp8_dtype(t.scalar_type()));
      },
      [&](const std::string& name, const std::vector<int64_t>&, Linear& linear) {
        EXPECT_EQ(linear.weight.scalar_type(), at::kFloat8_e4m3fn) << name;
        ++count;
      });
  return count;
}

// fp8 storage keeps a file's fp8 weights (and scales) as stored and dequantizes each layer for
// its matmul: the same values as dequantizing at load, so the same output bit for bit.
TEST(WanDiTSingleFile, Fp8StorageRunsTheFilesFp8WeightsAsLoadingDequantizedDoes) {
  const Fixture fx;
  for (const std::string form : {"kijai_fp8_e4m3fn", "comfy_fp8_scaled", "comfy_fp8_mixed"}) {
    SCOPED_TRACE(form);
    const CheckpointSource source = CheckpointSource::open(fx.file(form), kPrefixes);
    const WanDiTConfig config = WanDiTConfig::detect(source);
    const WanDiT resident(config, source, WanDiTOptions{});
    const WanDiT stored(config, source, fp8_storage());
    EXPECT_EQ(count_fp8_linears(stored), 2 * 12);  // 2 layers x (4 + 4 + 2 image + 2 FFN)
    const at::Tensor out = fx.run(stored);
    EXPECT_TRUE(at::equal(out, fx.run(resident)));
    EXPECT_TRUE(test::close_to(out, fx.tensor("out." + form), 1e-6));
  }
}

// --weights fp8 on a checkpoint that is not fp8: quantized at load with one scale per output row,
// as the reference script quantizes ComfyUI's mixed form in PyTorch; the folder then runs as
// diffusers does with those dequantized Linear weights and the rest in fp32.
TEST(WanDiTSingleFile, Fp8StorageQuantizesOtherCheckpointsPerOutputRow) {
  const Fixture fx;
  const WanDiT stored = WanDiT::load(fx.folder(), fp8_storage());
  EXPECT_EQ(count_fp8_linears(stored), 2 * 12);
  EXPECT_TRUE(test::close_to(fx.run(stored), fx.tensor("out.fp8_quantized_at_load"), 1e-6));
  EXPECT_FALSE(test::close_to(fx.run(stored), fx.tensor("out.orig_fp32"), 1e-4));  // it is lossy
}

// The memory fp8 storage saves: one byte per block Linear parameter instead of the compute
// dtype's two (bf16), plus a 4-byte scale per output row.
TEST(WanDiTSingleFile, Fp8StorageHalvesTheBlockLinearsAgainstBf16) {
  const Fixture fx;
  WanDiTOptions bf16;
  bf16.dtype = at::kBFloat16;
  WanDiTOptions fp8 = fp8_storage();
  fp8.dtype = at::kBFloat16;
  const WanDiT a = WanDiT::load(fx.folder(), bf16), b = WanDiT::load(fx.folder(), fp8);
  int64_t rows = 0, params = 0;
  WanDiTWeights view = a.weights();
  visit_weights(
      view, a.config(),
      [](const std::string&, const std::vector<int64_t>&, WeightPrecision, at::Tensor&) {},
      [&](const std::string&, const std::vector<int64_t>& shape, Linear&) {
        rows += shape[0];
        params += shape[0] * shape[1];
      });
  EXPECT_EQ(params, fp8_storable_parameters(a.config()));
  EXPECT_EQ(weight_bytes(b.weights(), b.config()),
            weight_bytes(a.weights(), a.config()) - params * (2 - 1) + rows * 4);
}

// Host memory while loading: the file is mapped, and each tensor is converted on its own, so the
// allocations never exceed the loaded model plus a tensor's transients (the fp32 dequantization
// and the division of a quantization), whatever the form: never a second copy of the checkpoint.
TEST(WanDiTSingleFile, LoadingNeverHoldsTwoCopies) {
  const Fixture fx;
  for (const std::string form : {"orig_fp32", "comfy_bf16", "comfy_fp8_mixed"}) {
    for (const WeightStorage storage : {WeightStorage::kCompute, WeightStorage::kFp8}) {
      SCOPED_TRACE(form + (storage == WeightStorage::kFp8 ? " fp8" : ""));
      const CheckpointSource source = CheckpointSource::open(fx.file(form), kPrefixes);
      const WanDiTConfig config = WanDiTConfig::detect(source);
      int64_t largest = 0, fp32_bytes = 0;  // the largest tensor, and all, in fp32
      for (const auto& [name, shape] : weight_shapes(config)) {
        int64_t n = 4;
        for (int64_t d : shape) n *= d;
        largest = std::max(largest, n);
        fp32_bytes += n;
      }
      WanDiTOptions options;
      options.weight_storage = storage;
      test::CountingCpuScope counting;
      const WanDiT dit(config, source, options);
      const int64_t model = weight_bytes(dit.weights(), dit.config());
      // A second copy of the weights (in fp32, as dequantized) would break the bound by far.
      ASSERT_LT(2 * largest, fp32_bytes / 2) << "the fixture is too small to tell a second copy";
      EXPECT_LE(counting.allocator().peak_bytes(), model + 2 * largest + (1 << 16))
          << "model " << model << " B, largest tensor " << largest << " B";
    }
  }
}

TEST(WanDiTSingleFile, ScaledFileMissingAScaleIsRefused) {
  const Fixture fx;
  const std::string missing = fx.golden.manifest().json().at("params").at("missing_scale");
  try {
    CheckpointSource::open(fx.file("broken_missing_scale"), kPrefixes);
    FAIL() << "a scaled fp8 file without one of its scales loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("white frames"), std::string::npos) << e.what();
  }
}

TEST(WanDiTSingleFile, VariantNamesOfThePublishedShapes) {
  EXPECT_EQ(dit_variant_name(WanDiTConfig::preset("wan2.1-t2v-1.3b")), "wan2.1-t2v-1.3b");
  EXPECT_EQ(dit_variant_name(WanDiTConfig::preset("wan2.1-i2v-14b")), "wan2.1-i2v-14b");
  EXPECT_EQ(dit_variant_name(WanDiTConfig::preset("wan2.2-ti2v-5b")), "wan2.2-ti2v-5b");
  EXPECT_EQ(dit_variant_name(WanDiTConfig::preset("wan2.1-vace-14b")), "wan2.1-vace-14b");
  EXPECT_NE(dit_variant_name(WanDiTConfig::preset("wan2.1-t2v-14b")).find("wan2.2-t2v-a14b"),
            std::string::npos);
}

TEST(WanDiTSingleFile, NotADiTIsRefusedNamingWhatItHolds) {
  const Fixture fx;  // the golden file holds inputs and outputs, not a model
  try {
    open_dit_file(fx.golden.dir() / "golden.safetensors");
    FAIL() << "a file without DiT tensors opened as a DiT";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("not a Wan DiT"), std::string::npos) << what;
    EXPECT_NE(what.find("encoder_hidden_states ["), std::string::npos) << what;
    EXPECT_NE(what.find("blocks.0.self_attn.q.weight"), std::string::npos) << what;
  }
}

TEST(WanDiTSingleFile, UnreadQuantizationFormatIsRefused) {
  const Fixture fx;
  try {
    CheckpointSource::open(fx.file("refused_nvfp4"), kPrefixes);
    FAIL() << "an nvfp4 layer loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'nvfp4'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rayvid::models::wan_dit
