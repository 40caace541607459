// Block streaming (block_streamer.h) on the CPU, through its staging copy: the streamed DiT
// computes exactly what the resident one does (prompt context, steps, fp8 storage, a LoRA merged
// after loading), and the weights it stages stay within two blocks, measured by a counting CPU
// allocator around the forward.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/device.h"
#include "core/memory.h"
#include "models/random_weights.h"
#include "models/wan_dit/block_streamer.h"
#include "models/wan_dit/model.h"
#include "support/counting_allocator.h"
#include "wan_dit_fixtures.h"

namespace rayvid::models::wan_dit {
namespace {

// The tiny I2V DiT's shapes (image path included) with more blocks, so two blocks are a small
// part of the model.
WanDiTConfig six_blocks() {
  WanDiTConfig c = WanDiTConfig::load(test_fixtures::tiny_model("wan21_i2v"));
  c.num_layers = 6;
  return c;
}

struct Inputs {
  at::Tensor latents, text, image, timestep;
};

Inputs inputs(const WanDiTConfig& c) {
  at::manual_seed(7);
  return {at::randn({2, c.in_channels, 3, 6, 10}), at::randn({2, 12, c.text_dim}) * 0.1,
          at::randn({2, 5, *c.image_dim}), at::tensor({613.f, 37.f})};
}

WanDiTOptions streamed(WanDiTOptions options = {}) {
  options.stream_blocks = true;
  return options;
}

// Two steps, so the second starts from the block the first prefetched after its last.
at::Tensor two_steps(const WanDiT& dit, const Inputs& in) {
  const ContextCache context = dit.prepare_context(in.text, in.image);
  const at::Tensor first = dit.forward(in.latents, in.timestep, context);
  return at::cat({first, dit.forward(in.latents * 0.5, in.timestep * 0.5, context)});
}

TEST(WanDiTStreaming, StreamedIsTheResidentForwardBitForBit) {
  const WanDiTConfig config = six_blocks();
  const Inputs in = inputs(config);
  for (const WeightStorage storage : {WeightStorage::kCompute, WeightStorage::kFp8}) {
    for (const c10::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
      WanDiTOptions options;
      options.weight_storage = storage;
      options.dtype = dtype;
      const WanDiT resident(config, RandomWeightSource(3), options);
      const WanDiT stream(config, RandomWeightSource(3), streamed(options));
      EXPECT_TRUE(at::equal(two_steps(stream, in), two_steps(resident, in)))
          << (storage == WeightStorage::kFp8 ? "fp8 " : "") << c10::toString(dtype);
    }
  }
}

TEST(WanDiTStreaming, TheTinyCheckpointStreamsAsItRunsResident) {
  const auto dir = test_fixtures::tiny_model("wan22_ti2v");
  const WanDiT resident = WanDiT::load(dir, {}), stream = WanDiT::load(dir, streamed());
  const WanDiTConfig& c = resident.config();
  at::manual_seed(5);
  const at::Tensor latents = at::randn({2, c.in_channels, 3, 6, 10});
  const at::Tensor text = at::randn({2, 9, c.text_dim}) * 0.1;
  const at::Tensor t = at::tensor({500.f, 500.f});
  EXPECT_TRUE(at::equal(stream.forward(latents, t, stream.prepare_context(text)),
                        resident.forward(latents, t, resident.prepare_context(text))));
}

// A LoRA-style change of the host blocks after streaming began must reach the next forward (the
// staged copies are dropped by weights_for_update()).
TEST(WanDiTStreaming, ChangedHostWeightsAreStagedAfresh) {
  const WanDiTConfig config = six_blocks();
  const Inputs in = inputs(config);
  WanDiT stream(config, RandomWeightSource(3), streamed());
  WanDiT resident(config, RandomWeightSource(3), {});
  (void)two_steps(stream, in);  // blocks 0 and 1 staged now
  for (WanDiT* dit : {&stream, &resident})
    dit->weights_for_update().blocks[0].ffn_out.weight.mul_(1.5);
  EXPECT_TRUE(at::equal(two_steps(stream, in), two_steps(resident, in)));
}

// What a streamed forward allocates beyond the resident one is the staged weights: at most two
// blocks (the computing one and the one arriving), never the whole stack.
TEST(WanDiTStreaming, StagedWeightsStayWithinTwoBlocks) {
  const WanDiTConfig config = six_blocks();
  const Inputs in = inputs(config);
  const ContextCache context =
      WanDiT(config, RandomWeightSource(3), {}).prepare_context(in.text, in.image);
  int64_t bound = 0, all_blocks = 0;
  // The bytes allocated while a DiT made here runs two steps, beyond what it held once loaded.
  auto forward_peak = [&](const WanDiTOptions& options) {
    test::CountingCpuScope counting;
    const WanDiT dit(config, RandomWeightSource(3), options);
    bound = streamed_bytes_bound(dit.weights().blocks);
    all_blocks = 0;
    for (const BlockWeights& b : dit.weights().blocks) all_blocks += block_bytes(b);
    const int64_t loaded = counting.allocator().live_bytes();
    counting.allocator().reset_peak();
    for (int step = 0; step < 2; ++step) (void)dit.forward(in.latents, in.timestep, context);
    return counting.allocator().peak_bytes() - loaded;
  };
  const int64_t resident_peak = forward_peak({});
  const int64_t stream_peak = forward_peak(streamed());
  ASSERT_EQ(bound, 2 * all_blocks / 6);
  std::printf("forward peak: resident %lld B, streamed %lld B; two blocks %lld B, all six %lld B\n",
              static_cast<long long>(resident_peak), static_cast<long long>(stream_peak),
              static_cast<long long>(bound), static_cast<long long>(all_blocks));
  EXPECT_GT(stream_peak - resident_peak, bound / 4) << "nothing was staged: not streaming";
  EXPECT_LE(stream_peak - resident_peak, bound);
}

// On a GPU the staging is real: blocks in pinned host memory, copied on a side stream one block
// ahead. The device's allocator peak during the steps is the resident run's minus all blocks but
// two, and the numbers are the same.
TEST(WanDiTStreaming, OnAGpuTheDeviceHoldsTwoBlocksOfWeights) {
  if (!cuda_available()) GTEST_SKIP() << "needs a GPU";
  const c10::Device gpu(c10::kCUDA, 0);
  const WanDiTConfig config = six_blocks();
  Inputs in = inputs(config);
  for (at::Tensor* t : {&in.latents, &in.text, &in.image, &in.timestep}) *t = t->to(gpu);
  int64_t bound = 0, all_blocks = 0;
  auto run = [&](WanDiTOptions options, uint64_t& peak) {
    options.device = gpu;
    options.dtype = at::kBFloat16;
    const WanDiT dit(config, RandomWeightSource(3), options);
    bound = streamed_bytes_bound(dit.weights().blocks);
    all_blocks = 0;
    for (const BlockWeights& b : dit.weights().blocks) all_blocks += block_bytes(b);
    const ContextCache context = dit.prepare_context(in.text, in.image);
    synchronize(gpu);
    reset_device_peak(gpu);
    at::Tensor out = dit.forward(in.latents, in.timestep, context);
    out = dit.forward(in.latents, in.timestep, context).cpu();
    synchronize(gpu);
    peak = device_peak_allocated_bytes(gpu);
    return out;
  };
  uint64_t resident_peak = 0, stream_peak = 0;
  const at::Tensor resident = run({}, resident_peak);
  const at::Tensor stream = run(streamed(), stream_peak);
  std::printf("device peak: resident %llu B, streamed %llu B (all blocks %lld B, two %lld B)\n",
              static_cast<unsigned long long>(resident_peak),
              static_cast<unsigned long long>(stream_peak), static_cast<long long>(all_blocks),
              static_cast<long long>(bound));
  EXPECT_TRUE(at::equal(stream, resident));
  EXPECT_GE(static_cast<int64_t>(resident_peak) - static_cast<int64_t>(stream_peak),
            (all_blocks - bound) * 9 / 10);
}

}  // namespace
}  // namespace rayvid::models::wan_dit
