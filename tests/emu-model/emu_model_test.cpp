// The model path through rayvid's own kernels without a GPU: the Wan DiT at the real head dims
// (128: 1 head, 1 layer; 64: 2 heads, 2 layers), bf16, with kernel backend `emu`, which runs the
// CUDA kernels' source (flash attention, RMSNorm, 3D RoPE, LayerNorm + AdaLN, gated residual) on
// the CPU emulator, with the same Params as the CUDA bindings. Goldens: golden_extra/emu_model/ of
// scripts/reference/extra_emu_model.py (diffusers' WanTransformer3DModel loaded in bf16, one
// forward, batch 2, 135 video tokens, 512 text tokens).
//
// Bound: relative error (test::relative_error) <= 1e-2 against the diffusers bf16 golden, as the
// wan_dit bf16 parity tests. Measured (CPU, LibTorch's bf16 kernels): head_dim 128: emu 2.2e-3,
// sdpa 0 (bit-identical to diffusers, same SDPA); head_dim 64: emu 3.3e-3, sdpa 1.4e-3 -- see the
// printed lines. A kernel with two P-fragment elements swapped gives 2.1e-2 and 3.1e-2 (fails).
// Runtime: about 3 s for both tests.
// That the kernel really ran: the emulator binding's launch counter grows by one per attention
// call (2 per block: self and cross), and the emu output differs from the sdpa one (a different
// summation order, so different bf16 roundings) while staying as close to the golden.
// The q/k RMSNorms go through kernels/rms_norm on the emulator too (4 launches per block: self q
// and k, cross q, the text key of the block's context), counted the same way; emu errors with
// both kernels: 2.2e-3 and 3.3e-3. An RMSNorm kernel without `/ p.dim` gives 3.8e-2 / 7.2e-2
// (fails); one that skips the weight gives 7.5e-3 / 1.3e-2 (the d64 test fails). RoPE, AdaLN and
// the gated residuals also run their kernels (counted below); the errors stay 2.2e-3 / 3.3e-3 (RoPE
// and the gated residual are bit-identical to their references). The whole pipelines through the
// kernels: emu_pipeline_test.cpp.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "io/json_file.h"
#include "io/safetensors.h"
#include "models/wan_dit/model.h"
#include "ops/attention_cuda.h"
#include "ops/kernel_path.h"
#include "ops/norms_cuda.h"
#include "support/golden.h"
#include "support/test_env.h"

namespace rayvid {
namespace {

constexpr double kMaxRel = 1e-2;

struct Result {
  double rel_error = 0;
  at::Tensor output;
};

Result run(const std::string& name, ops::KernelBackend backend, int expected_heads,
           int64_t expected_head_dim, int64_t expected_layers) {
  const auto root = test::fixtures_dir() / "golden_extra" / "emu_model";
  const io::JsonFile manifest = io::JsonFile::load(root / "manifest.json");
  for (const auto& c : manifest.json()["cases"]) {
    if (c["name"] != name) continue;
    const auto store = io::WeightStore::open_file(root / c["file"].get<std::string>());
    auto tensor = [&](const nlohmann::json& group, const char* key) {
      return store.tensor(group[key].get<std::string>());
    };
    models::wan_dit::WanDiTOptions options;
    options.dtype = at::kBFloat16;
    options.kernels = backend;
    const auto model = models::wan_dit::WanDiT::load(
        test::fixtures_dir() / c["model_dir"].get<std::string>(), options);
    EXPECT_EQ(model.config().num_attention_heads, expected_heads);
    EXPECT_EQ(model.config().attention_head_dim(), expected_head_dim);
    EXPECT_EQ(model.config().num_layers, expected_layers);
    const auto& in = c["inputs"];
    const uint64_t norm_launches_before = ops::rayvid_rms_norm_emu_launches();
    const auto context = model.prepare_context(tensor(in, "encoder_hidden_states"), at::Tensor());
    const auto paths_before = ops::kernel_path_counts();
    const uint64_t launches_before = ops::rayvid_attention_emu_launches();
    const auto start = std::chrono::steady_clock::now();
    Result r;
    r.output = model.forward(tensor(in, "hidden_states"), tensor(in, "timestep"), context);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const uint64_t launches = ops::rayvid_attention_emu_launches() - launches_before;
    const uint64_t norm_launches = ops::rayvid_rms_norm_emu_launches() - norm_launches_before;
    // Self- and cross-attention of every block through the kernel with emu, never without.
    EXPECT_EQ(launches, backend == ops::KernelBackend::kEmu ? 2 * expected_layers : 0);
    // And every q/k RMSNorm (self q and k, cross q, and the text key of the block's context).
    EXPECT_EQ(norm_launches, backend == ops::KernelBackend::kEmu ? 4 * expected_layers : 0);
    // And per block one RoPE of q and k, two LayerNorm + AdaLN and two gated residuals (plus the
    // output head's LayerNorm + AdaLN), never the ATen fallback.
    const auto paths_after = ops::kernel_path_counts();
    const bool emu = backend == ops::KernelBackend::kEmu;
    for (const auto& [op, calls] :
         std::map<std::string, int64_t>{{"rope3d", expected_layers},
                                        {"layer_norm_modulate", 2 * expected_layers + 1},
                                        {"gated_residual", 2 * expected_layers}}) {
      EXPECT_EQ(paths_after.at(op).kernel - paths_before.at(op).kernel, emu ? calls : 0) << op;
      EXPECT_EQ(paths_after.at(op).fallback, paths_before.at(op).fallback) << op;
    }
    const at::Tensor ref = tensor(c["outputs"], "output_bf16");
    EXPECT_TRUE(test::close_to(r.output, ref, kMaxRel)) << name;
    r.rel_error = test::relative_error(r.output, ref);
    std::printf(
        "%s %s: rel err %.2e vs the diffusers bf16 golden (bound %.0e), %llu attention and %llu "
        "RMSNorm kernel launches, forward %.2f s\n",
        name.c_str(), std::string(ops::kernel_backend_name(backend)).c_str(), r.rel_error, kMaxRel,
        static_cast<unsigned long long>(launches), static_cast<unsigned long long>(norm_launches),
        seconds);
    return r;
  }
  ADD_FAILURE() << "no case " << name << " in " << (root / "manifest.json");
  return {};
}

void check(const std::string& name, int heads, int64_t head_dim, int64_t layers) {
  const Result emu = run(name, ops::KernelBackend::kEmu, heads, head_dim, layers);
  const Result sdpa = run(name, ops::KernelBackend::kAten, heads, head_dim, layers);
  ::testing::Test::RecordProperty("emu_rel_error", std::to_string(emu.rel_error));
  ::testing::Test::RecordProperty("sdpa_rel_error", std::to_string(sdpa.rel_error));
  ASSERT_TRUE(emu.output.defined() && sdpa.output.defined());
  // Different kernels, so different roundings: not bit-identical, but at rounding level.
  const double emu_vs_sdpa = test::relative_error(emu.output, sdpa.output);
  std::printf("%s: emu vs sdpa rel diff %.2e\n", name.c_str(), emu_vs_sdpa);
  EXPECT_FALSE(at::equal(emu.output, sdpa.output)) << "emu output identical to sdpa's";
  EXPECT_LT(emu_vs_sdpa, kMaxRel);
}

TEST(EmuModel, WanDiTHeadDim128MatchesDiffusersBf16) { check("d128", 1, 128, 1); }
TEST(EmuModel, WanDiTHeadDim64MatchesDiffusersBf16) { check("d64", 2, 64, 2); }

}  // namespace
}  // namespace rayvid

namespace rayvid {
namespace {

// The sidecar says which path each op took. The demo model's heads are 32 wide, which the
// attention kernel does not cover, so every attention call of the emu backend falls back to SDPA
// and is counted as such, while its q/k norms (64 wide), RoPE, AdaLN and gated residuals run the
// kernels; aten counts nothing.
TEST(EmuModel, SidecarRecordsThePathEachOpTook) {
  const auto dir = test::scratch_dir("emu-model-sidecar");
  for (const std::string backend : {"emu", "aten"}) {
    const auto r = test::run_command("'" + test::cli_path().string() +
                                     "' generate --prompt 'a cat' --width 64 --height 64 "
                                     "--frames 5 --steps 2 --dtype bf16 --quiet --kernels " +
                                     backend + " --output '" + (dir / "out.mp4").string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::ifstream in(dir / "out.json");
    const auto kernels = nlohmann::json::parse(in)["kernels"];
    EXPECT_EQ(kernels["backend"], backend);
    const auto& calls = kernels["calls"];
    for (const char* op :
         {"attention", "rms_norm", "rope3d", "layer_norm_modulate", "gated_residual"}) {
      SCOPED_TRACE(std::string(backend) + " " + op);
      ASSERT_TRUE(calls.contains(op));
      const int64_t kernel = calls[op]["kernel"], fallback = calls[op]["aten_fallback"];
      if (backend == "aten") {
        EXPECT_EQ(kernel + fallback, 0);
      } else if (std::string(op) == "attention") {
        EXPECT_EQ(kernel, 0);
        EXPECT_GT(fallback, 0);
      } else {
        EXPECT_GT(kernel, 0);
        EXPECT_EQ(fallback, 0);
      }
    }
  }
}

}  // namespace
}  // namespace rayvid
