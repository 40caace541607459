// WanDiT behaviour beyond parity: timestep grouping (per sample / latent frame / token), reuse of
// the prompt cache, batch independence, attention backends, and input errors.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "models/wan_dit/model.h"
#include "models/wan_dit/modulation.h"
#include "support/golden.h"
#include "wan_dit_fixtures.h"

namespace rayvid::models::wan_dit {
namespace {

WanDiT tiny(const std::string& family, WanDiTOptions options = {}) {
  return WanDiT::load(test_fixtures::tiny_model(family), options);
}

struct Inputs {
  at::Tensor latents, text, image;
};

Inputs inputs(const std::string& family) {
  const auto store =
      test_fixtures::GoldenDir(test_fixtures::extra_dir()).open(family + ".safetensors");
  const std::string base = "transformer.size_a.";
  Inputs in;
  in.latents = store.tensor(base + "hidden_states").clone();  // [2, C, 3, 6, 10]
  in.text = store.tensor(base + "encoder_hidden_states").clone();
  if (store.contains(base + "encoder_hidden_states_image"))
    in.image = store.tensor(base + "encoder_hidden_states_image").clone();
  return in;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadArgument) << e.what();
    return e.what();
  }
  return "(no error)";
}

TEST(WanDiTTimesteps, GroupsBySampleFrameOrToken) {
  const std::array<int64_t, 3> grid = {3, 2, 2};  // 12 tokens, 4 per frame
  const c10::Device cpu(c10::kCPU);
  auto g = group_timesteps(at::tensor({500, 500}), 2, grid, cpu);
  EXPECT_EQ(g.groups, 1);
  EXPECT_EQ(g.values.numel(), 1);  // the time MLP runs once for the whole batch
  g = group_timesteps(at::tensor({900, 100}), 2, grid, cpu);
  EXPECT_TRUE(at::equal(g.values, at::tensor({100.f, 900.f})));
  EXPECT_TRUE(at::equal(g.index, at::tensor({1, 0}, at::kLong).view({2, 1})));

  // TI2V: the clean first frame at t = 0, all other tokens at t.
  at::Tensor per_token = at::full({2, 12}, 700.f);
  per_token.narrow(1, 0, 4).zero_();
  g = group_timesteps(per_token, 2, grid, cpu);
  EXPECT_EQ(g.groups, 3);  // one modulation row per latent frame, not per token
  EXPECT_EQ(g.values.numel(), 2);
  EXPECT_TRUE(at::equal(g.index, at::tensor({0, 1, 1, 0, 1, 1}, at::kLong).view({2, 3})));

  per_token[1][5] = 3;  // varies inside a frame: falls back to one row per token
  g = group_timesteps(per_token, 2, grid, cpu);
  EXPECT_EQ(g.groups, 12);
  EXPECT_EQ(g.values.numel(), 3);

  EXPECT_NE(error_of([&] {
              group_timesteps(at::zeros({2, 11}), 2, grid, cpu);
            }).find("timestep: expected [2] or [2, 12]"),
            std::string::npos);
}

TEST(WanDiTForward, PerTokenTimestepsEqualToOnePerSampleGiveTheSameOutput) {
  const WanDiT model = tiny("wan22_ti2v");
  const Inputs in = inputs("wan22_ti2v");
  const ContextCache context = model.prepare_context(in.text);
  const at::Tensor per_sample = model.forward(in.latents, at::tensor({613.f, 37.f}), context);
  const at::Tensor per_token = model.forward(
      in.latents, at::tensor({613.f, 37.f}).view({2, 1}).expand({2, 45}).contiguous(), context);
  EXPECT_TRUE(test::close_to(per_token, per_sample, 1e-6));
}

TEST(WanDiTForward, ContextCacheIsReusedAcrossSteps) {
  const WanDiT model = tiny("wan21_i2v");
  const Inputs in = inputs("wan21_i2v");
  const ContextCache context = model.prepare_context(in.text, in.image);
  ASSERT_EQ(context.blocks.size(), 2u);
  EXPECT_EQ(context.blocks[0].text_key.sizes(), (std::vector<int64_t>{2, 512, 3, 32}));
  EXPECT_EQ(context.blocks[0].image_key.sizes(), (std::vector<int64_t>{2, 17, 3, 32}));
  const at::Tensor first = model.forward(in.latents, at::tensor({999, 999}), context);
  const at::Tensor other = model.forward(in.latents, at::tensor({500, 500}), context);
  const at::Tensor again = model.forward(in.latents, at::tensor({999, 999}), context);
  EXPECT_TRUE(at::equal(first, again));
  EXPECT_FALSE(at::allclose(first, other));
}

TEST(WanDiTForward, BatchRowsAreIndependent) {
  const WanDiT model = tiny("wan21_t2v");
  const Inputs in = inputs("wan21_t2v");
  const at::Tensor both =
      model.forward(in.latents, at::tensor({881, 245}), model.prepare_context(in.text));
  for (int64_t b = 0; b < 2; ++b) {
    const at::Tensor one = model.forward(in.latents.narrow(0, b, 1), at::tensor({b ? 245 : 881}),
                                         model.prepare_context(in.text.narrow(0, b, 1)));
    EXPECT_TRUE(test::close_to(one, both.narrow(0, b, 1), 1e-6)) << "row " << b;
  }
}

// A step that drops guidance runs the cond rows of the guided context (first_rows): the same as a
// context made from the cond prompt alone, with and without CLIP image tokens.
TEST(WanDiTForward, FirstRowsOfAGuidedContextAreTheCondContext) {
  for (const std::string family : {"wan21_t2v", "wan21_i2v"}) {
    SCOPED_TRACE(family);
    const WanDiT model = tiny(family);
    const Inputs in = inputs(family);
    const auto row0 = [](const at::Tensor& t) { return t.defined() ? t.narrow(0, 0, 1) : t; };
    const ContextCache guided = model.prepare_context(in.text, in.image);  // batch 2
    const at::Tensor t = at::tensor({613});
    const at::Tensor from_rows = model.forward(row0(in.latents), t, first_rows(guided, 1));
    const at::Tensor alone =
        model.forward(row0(in.latents), t, model.prepare_context(row0(in.text), row0(in.image)));
    EXPECT_TRUE(test::close_to(from_rows, alone, 1e-6));
  }
}

TEST(WanDiTForward, KernelBackendsAgree) {
  const Inputs in = inputs("wan21_i2v");
  at::Tensor outputs[3];
  const ops::KernelBackend backends[] = {ops::KernelBackend::kAten, ops::KernelBackend::kReference,
                                         ops::KernelBackend::kRayvid};
  for (int i = 0; i < 3; ++i) {
    WanDiTOptions options;
    options.kernels = backends[i];
    const WanDiT model = tiny("wan21_i2v", options);
    outputs[i] =
        model.forward(in.latents, at::tensor({613, 613}), model.prepare_context(in.text, in.image));
  }
  EXPECT_TRUE(test::close_to(outputs[1], outputs[0], 1e-5));
  EXPECT_TRUE(at::equal(outputs[2], outputs[0]));  // rayvid falls back to sdpa until its kernel
}

TEST(WanDiTForward, ChunkedFeedForwardAndBf16GemmModesAgree) {
  const Inputs in = inputs("wan21_t2v");
  const at::Tensor t = at::tensor({613, 37});
  WanDiTOptions options;
  const WanDiT whole = tiny("wan21_t2v", options);
  options.ffn_chunk_rows = 7;  // ragged chunks over 90 rows
  const WanDiT chunked = tiny("wan21_t2v", options);
  EXPECT_TRUE(test::close_to(chunked.forward(in.latents, t, chunked.prepare_context(in.text)),
                             whole.forward(in.latents, t, whole.prepare_context(in.text)), 1e-6));
  options.dtype = at::kBFloat16;
  options.bf16_gemm = Bf16Gemm::kNative;
  const WanDiT native = tiny("wan21_t2v", options);
  options.bf16_gemm = Bf16Gemm::kFp32;
  const WanDiT upcast = tiny("wan21_t2v", options);
  const at::Tensor a = native.forward(in.latents, t, native.prepare_context(in.text));
  const at::Tensor b = upcast.forward(in.latents, t, upcast.prepare_context(in.text));
  EXPECT_TRUE(test::close_to(b, a, 1e-2));
}

TEST(WanDiTForward, BadInputsAreRefusedWithAReason) {
  const WanDiT t2v = tiny("wan21_t2v");
  const WanDiT i2v = tiny("wan21_i2v");
  const Inputs in = inputs("wan21_t2v");
  const ContextCache context = t2v.prepare_context(in.text);
  const at::Tensor t = at::tensor({1, 1});
  EXPECT_NE(error_of([&] {
              t2v.forward(at::zeros({2, 15, 3, 6, 10}), t, context);
            }).find("latents: expected [B, 16, frames, height, width]"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              t2v.forward(at::zeros({2, 16, 3, 7, 10}), t, context);
            }).find("multiples of the patch size 1x2x2"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              t2v.forward(at::zeros({1, 16, 3, 6, 10}), at::tensor({1}), context);
            }).find("the context cache holds batch 2"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              t2v.forward(at::zeros({2, 16, 3, 6, 2050}), t, context);
            }).find("exceeds the model's 1024 RoPE positions"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              t2v.prepare_context(in.text, at::zeros({2, 17, 48}));
            }).find("has no image-token input"),
            std::string::npos);
  EXPECT_NE(error_of([&] { i2v.prepare_context(in.text); }).find("needs CLIP image tokens"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              t2v.prepare_context(at::zeros({2, 512, 65}));
            }).find("text states: expected [B, tokens, 64]"),
            std::string::npos);
  WanDiTOptions fp16;
  fp16.dtype = at::kHalf;
  EXPECT_NE(error_of([&] { tiny("wan21_t2v", fp16); }).find("fp32 or bf16"), std::string::npos);
}

}  // namespace
}  // namespace rayvid::models::wan_dit
