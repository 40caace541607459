// The memory model (engine/memory_model.h) by hand on the published variants, and the targets
// the README's table promises: Wan2.1 T2V-14B and Wan2.2 A14B at 720p x 5 s within 24 GiB of
// device and 64 GiB of host memory, TI2V-5B within 16 GiB (bf16 compute, fp8 weights).
#include "tools/bench/memory_table.h"

#include <gtest/gtest.h>

namespace rayvid::tools::bench {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

const MemoryTableRow& row(const std::vector<MemoryTableRow>& rows, const std::string& variant,
                          const std::string& resolution, const std::string& duration) {
  for (const auto& r : rows)
    if (r.variant == variant && r.resolution == resolution && r.duration == duration) return r;
  throw std::runtime_error("no row " + variant);
}

// Wan2.1 T2V-14B at 1280x720x81, bf16, guided (batch 2): T = 21, 45 x 80 tokens a frame ->
// L = 75,600; self-attention's 7 x d live per token: 2 x 75,600 x 7 x 5,120 x 2 B =
// 10,838,016,000 B (the chunked FFN's 3 d + one 8,192-row chunk is less); the prompt's K/V for
// 40 blocks: 40 x 2 x 2 x 512 x 5,120 x 2 B = 838,860,800 B.
TEST(MemoryModel, Wan21_14B_720pHandCount) {
  const engine::ModelMemoryFacts facts = published_memory_facts("wan2.1-t2v-14b");
  EXPECT_EQ(facts.dit_layers, 40);
  engine::MemorySettings s;
  s.dtype_bytes = 2, s.gpu = true, s.fp8_storage = true, s.profile = engine::MemoryProfile::kLow;
  const engine::MemoryEstimate e = engine::estimate_memory(facts, {1280, 720, 81, 16}, s);
  EXPECT_DOUBLE_EQ(e.dit_activations, 10'838'016'000.0);
  EXPECT_DOUBLE_EQ(e.context_cache, 838'860'800.0);
  // fp8 storage: the blocks' Linears at one byte, the rest (about 0.3B) in bf16.
  EXPECT_NEAR(
      e.dit_weights / 1e9,
      facts.dit_fp8_storable / 1e9 + 2 * (facts.dit_parameters - facts.dit_fp8_storable) / 1e9,
      1e-9);
  EXPECT_NEAR(facts.dit_parameters / 1e9, 14.29, 0.01);  // Wan2.1 14B as released
  // low: every block streams but two, so the host holds them and the device the rest.
  EXPECT_NEAR(e.streamed_blocks, facts.dit_fp8_storable, 1.0);
  EXPECT_LT(e.resident_weights, 1.5e9);
}

TEST(MemoryModel, ProfilesOrderAndExpertsTakeTurnsUnderLow) {
  const auto rows = memory_table(/*fp8_weights=*/true);
  for (const auto& r : rows) {
    SCOPED_TRACE(r.variant + " " + r.resolution + " " + r.duration);
    EXPECT_GE(r.max.device_peak, r.balanced.device_peak);
    EXPECT_GE(r.balanced.device_peak, r.low.device_peak);
    EXPECT_GE(r.low.host_peak, r.max.host_peak);  // the streamed blocks live on the host
  }
  // Two experts double max's weights, not low's: one expert streams at a time.
  const auto& t2v = row(rows, "wan2.1-t2v-14b", "720p", "5s");
  const auto& a14b = row(rows, "wan2.2-t2v-a14b", "720p", "5s");
  EXPECT_NEAR(a14b.max.resident_weights - t2v.max.resident_weights, t2v.max.dit_weights, 1.0);
  EXPECT_DOUBLE_EQ(a14b.low.device_peak, t2v.low.device_peak);
}

TEST(MemoryModel, TheCardsPeopleOwn) {
  const auto rows = memory_table(/*fp8_weights=*/true);
  for (const std::string variant : {"wan2.1-t2v-14b", "wan2.2-t2v-a14b", "wan2.2-i2v-a14b"}) {
    const auto& r = row(rows, variant, "720p", "5s");
    EXPECT_LE(r.low.device_peak, 24 * kGiB) << variant;
    EXPECT_LE(r.low.host_peak, 64 * kGiB) << variant;
  }
  EXPECT_LE(row(rows, "wan2.2-ti2v-5b", "720p", "5s").low.device_peak, 16 * kGiB);
}

}  // namespace
}  // namespace rayvid::tools::bench
