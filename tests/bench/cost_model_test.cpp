// The cost planner against hand counts. Every expected number below was worked out by hand from
// the architecture (wan-family.md sections 1, 3, 9), not by calling the code under test.
#include "tools/bench/cost_model.h"

#include <gtest/gtest.h>

#include "engine/memory_model.h"
#include "rayvid/error.h"
#include "tools/bench/arch_spec.h"
#include "tools/bench/device_spec.h"

namespace rayvid::tools::bench {
namespace {

TEST(ArchSpec, ParameterCountsMatchTheReleasedModels) {
  // Exact counts from the checkpoints' layer shapes (wan-family.md table 1.3).
  EXPECT_EQ(dit_parameters(arch_spec("wan2.1-1.3b")), 1'418'996'800);
  EXPECT_EQ(dit_parameters(arch_spec("wan2.1-14b")), 14'288'491'584);
  EXPECT_EQ(dit_parameters(arch_spec("wan2.1-i2v-14b")), 16'394'878'784);
  EXPECT_EQ(dit_parameters(arch_spec("wan2.2-5b")), 4'999'787'712);
  EXPECT_EQ(dit_parameters(arch_spec("wan2.2-a14b")), 14'288'491'584);  // per expert
}

TEST(ArchSpec, UnknownNameListsTheChoices) {
  try {
    arch_spec("wan3");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("wan2.1-1.3b, wan2.1-14b"), std::string::npos);
  }
}

// Wan2.1 T2V-1.3B at 832x480x81 (d = 1536, f = 8960, 30 layers, context C = 512):
//   tokens: T = (81-1)/4+1 = 21, 480/16 = 30, 832/16 = 52 -> L = 21*30*52 = 32,760
//   linear per block: 2*L*(6 d^2 + 2 d f) = 2*32760*(14,155,776 + 27,525,120) = 2,730,932,305,920
//                     + context k,v 2*C*2*d^2 = 2*512*2*2,359,296 = 4,831,838,208
//   embeddings/head: patch 2*L*64*d = 6,440,878,080; head 2*L*d*64 = 6,440,878,080;
//                    text MLP 2*512*(4096 d + d^2) = 8,858,370,048; time 2*(256 d + 7 d^2) =
//                    33,816,576 -> 21,773,942,784
//   linear total: 30*(2,730,932,305,920 + 4,831,838,208) + 21,773,942,784 = 82,094,698,266,624
//   attention per block: 4 L^2 d + 4 L C d = 6,593,848,934,400 + 103,054,049,280
//                        = 6,696,902,983,680; x30 = 200,907,089,510,400
//   forward: 283,001,787,777,024 FLOP (283 TFLOP, 71% attention), as wan-family.md 9.4's 283.
TEST(CostModel, Wan21_1p3B_832x480x81_HandCount) {
  const ArchSpec arch = arch_spec("wan2.1-1.3b");
  const Tokens t = count_tokens(arch, {832, 480, 81, 16});
  EXPECT_EQ(t.video, 32760);
  EXPECT_EQ(t.context, 512);
  const ForwardFlops f = dit_forward_flops(arch, t);
  EXPECT_DOUBLE_EQ(f.linear, 82'094'698'266'624.0);
  EXPECT_DOUBLE_EQ(f.attention, 200'907'089'510'400.0);

  // Memory, bf16, one branch (unguided): weights 1,418,996,800 * 2 = 2,837,993,600 B.
  // Activations: self-attention's 7 d per token, 32,760 x 7 x 1536 x 2 = 704,471,040 B, beats the
  //   FFN's 3 d per token + one 8,192-row chunk of 2 f (301,916,160 + 293,601,280); plus the
  //   prompt's K/V of 30 blocks, 30 x 2 x 512 x 1536 x 2 = 94,371,840 -> 798,842,880 B.
  // The VAE decode is the VAE's own model: the plan reports what the engine's model says.
  const MemoryPlan m = plan_memory(arch, {832, 480, 81, 16}, 2, false);
  EXPECT_DOUBLE_EQ(m.dit_weights, 2'837'993'600.0);
  EXPECT_DOUBLE_EQ(m.dit_activations, 798'842'880.0);
  engine::MemorySettings s;
  s.dtype_bytes = 2, s.guided = false, s.gpu = true;
  const engine::MemoryEstimate e =
      engine::estimate_memory(memory_facts(arch), {832, 480, 81, 16}, s);
  EXPECT_DOUBLE_EQ(m.vae_decode, e.vae_decode);
  EXPECT_DOUBLE_EQ(m.peak, e.device_peak);
  // umT5-XXL resident in bf16; the bf16 decode (tiled when that is smaller) below the untiled
  // fp32 decode's ~3.5 GiB (wan-family.md 6.3).
  EXPECT_DOUBLE_EQ(m.text_encoder_weights, 5'680'910'336.0 * 2);
  EXPECT_LT(m.vae_decode, 3.5 * (1 << 30));

  // Floor on an H100 (989 TFLOP/s): compute-bound, 283.0018e12 / 989e12 = 0.286150 s per forward
  // (weights 2.84 GB / 3.35 TB/s = 0.85 ms is far below), 2 forwards per guided step.
  const CostPlan p = plan_cost(arch, {832, 480, 81, 16}, device_preset("h100"), 50, true);
  EXPECT_NEAR(p.forward_seconds, 283'001'787'777'024.0 / 989e12, 1e-12);
  EXPECT_NEAR(p.step_seconds, 2 * 283'001'787'777'024.0 / 989e12, 1e-12);
  EXPECT_TRUE(p.fits);
}

// Wan2.2 TI2V-5B at 1280x704x121 (d = 3072, f = 14336, 30 layers, C = 512, 32 px per token):
//   tokens: T = 31, 704/32 = 22, 1280/32 = 40 -> L = 27,280
//   linear per block: 2*L*(6 d^2 + 2 d f) = 2*27280*(56,623,104 + 88,080,384) = 7,895,022,305,280
//                     + context 2*512*2*9,437,184 = 19,327,352,832
//   embeddings/head: patch 2*L*192*d = 32,180,797,440; head the same; text 2*512*(4096 d + d^2)
//                    = 22,548,578,304; time 2*(256 d + 7 d^2) = 133,693,440 -> 87,043,866,624
//   linear total: 30*(7,895,022,305,280 + 19,327,352,832) + 87,043,866,624 = 237,517,533,609,984
//   attention per block: 4 L^2 d + 4 L C d = 9,144,709,939,200 + 171,630,919,680
//                        = 9,316,340,858,880; x30 = 279,490,225,766,400
//   forward: 517,007,759,376,384 FLOP (517 TFLOP, 54% attention), as wan-family.md 9.4's 517.
TEST(CostModel, Wan22_5B_1280x704x121_HandCount) {
  const ArchSpec arch = arch_spec("wan2.2-5b");
  const Tokens t = count_tokens(arch, {1280, 704, 121, 24});
  EXPECT_EQ(t.video, 27280);
  const ForwardFlops f = dit_forward_flops(arch, t);
  EXPECT_DOUBLE_EQ(f.linear, 237'517'533'609'984.0);
  EXPECT_DOUBLE_EQ(f.attention, 279'490'225'766'400.0);
  // Weights 4,999,787,712 * 2 = 9,999,575,424 B; guided (batch 2): 54,560 rows x 7 d x 2 =
  //   2,346,516,480 B of attention (the FFN: 1,005,649,920 + 8,192 x 2 x 14,336 x 2 =
  //   469,762,048 less; rayvid keeps no per-token modulation) + K/V 30 x 2 x 2 x 512 x 3072 x 2 =
  //   377,487,360 -> 2,724,003,840 B.
  const MemoryPlan m = plan_memory(arch, {1280, 704, 121, 24}, 2, true);
  EXPECT_DOUBLE_EQ(m.dit_weights, 9'999'575'424.0);
  EXPECT_DOUBLE_EQ(m.dit_activations, 2'724'003'840.0);
}

TEST(CostModel, ExpertsDoubleWeightsNotFlops) {
  const ArchSpec a14b = arch_spec("wan2.2-a14b"), t2v = arch_spec("wan2.1-14b");
  const pipeline::VideoShape shape{1280, 720, 81, 16};
  const auto p1 = plan_cost(a14b, shape, device_preset("h100"), 40, true);
  const auto p2 = plan_cost(t2v, shape, device_preset("h100"), 40, true);
  EXPECT_DOUBLE_EQ(p1.forward.total(), p2.forward.total());
  EXPECT_DOUBLE_EQ(p1.memory.dit_weights, 2 * p2.memory.dit_weights);
  // 14B at 1280x720x81: L = 75,600 tokens, ~6,523 TFLOP per forward (wan-family.md 9.4).
  EXPECT_EQ(p1.tokens.video, 75600);
  EXPECT_NEAR(p1.forward.total() / 1e12, 6523, 3);
  EXPECT_FALSE(plan_cost(a14b, shape, device_preset("rtx4090"), 40, true).fits);
}

TEST(CostModel, BadShapesAreRejectedWithTheRule) {
  const ArchSpec arch = arch_spec("wan2.2-5b");
  try {
    count_tokens(arch, {1280, 720, 121, 24});  // 720 is not a multiple of 32
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("multiples of 32"), std::string::npos) << e.what();
  }
  EXPECT_THROW(count_tokens(arch, {1280, 704, 120, 24}), Error);  // not 4n+1
}

TEST(DeviceSpec, PresetsAndTheMeasuredCpu) {
  EXPECT_DOUBLE_EQ(device_preset("h100").matmul_tflops, 989);
  EXPECT_DOUBLE_EQ(device_preset("h200").bandwidth_gbs, 4800);
  EXPECT_DOUBLE_EQ(device_preset("rtx4090").memory_gb, 24);
  EXPECT_THROW(device_preset("tpu"), Error);
  const DeviceSpec cpu = device_preset("cpu");
  EXPECT_TRUE(cpu.measured);
  EXPECT_GT(cpu.matmul_tflops, 1e-4);  // any CPU does better than 0.1 GFLOP/s
  EXPECT_LT(cpu.matmul_tflops, 100);
  EXPECT_GT(cpu.bandwidth_gbs, 0.1);
  EXPECT_GT(cpu.memory_gb, 0.5);
}

}  // namespace
}  // namespace rayvid::tools::bench
