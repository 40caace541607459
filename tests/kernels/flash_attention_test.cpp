// kernels/flash_attention against ops::attention_reference (the op's one reference, fp32), on
// fresh random inputs: ragged and
// tiny lengths, both head dims and dtypes, views with strides, an output with gaps. Tolerance as
// FlashAttention: max error at most 2x that of naive attention computed in the same dtype.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "flash_attention/flash_attention.cuh"
#include "kernel_backend.h"
#include "ops/reference/attention_reference.h"
#include "tolerance.h"

#if !defined(RAYVID_KERNEL_TEST_GPU)
#include "emu/emu.h"
#endif

namespace rayvid::test {
namespace {

using kernels::DType;
using kernels::FlashAttentionParams;

struct Case {
  int batch, heads, q_len, kv_len, head_dim;
  at::ScalarType dtype;
  bool packed_qkv;  // q, k, v sliced from one [B, L, 3, H, D] tensor (self-attention only)
};

std::string name_of(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return std::string(c.dtype == at::kBFloat16 ? "bf16" : "fp16") + "_b" + std::to_string(c.batch) +
         "_h" + std::to_string(c.heads) + "_q" + std::to_string(c.q_len) + "_k" +
         std::to_string(c.kv_len) + "_d" + std::to_string(c.head_dim) +
         (c.packed_qkv ? "_packed" : "");
}

class FlashAttention : public ::testing::TestWithParam<Case> {};

TEST_P(FlashAttention, MatchesReferenceWithinTwiceNaiveError) {
  RAYVID_REQUIRE_BACKEND();
  const Case c = GetParam();
  at::manual_seed(c.q_len * 131 + c.kv_len * 7 + c.head_dim + c.heads);
  const auto opts = at::TensorOptions().dtype(c.dtype);
  at::Tensor q_base, kv_base, q, k, v;
  if (c.packed_qkv) {
    q_base = at::randn({c.batch, c.q_len, 3, c.heads, c.head_dim}, opts);  // [B, L, 3, H, D]
    kv_base = q_base;
    q = q_base.select(2, 0);  // [B, L, H, D], row stride 3 * H * D
    k = q_base.select(2, 1);
    v = q_base.select(2, 2);
  } else {
    q_base = at::randn({c.batch, c.q_len, c.heads, c.head_dim}, opts);       // [B, Lq, H, D]
    kv_base = at::randn({2, c.batch, c.kv_len, c.heads, c.head_dim}, opts);  // [2, B, Lk, H, D]
    q = q_base;
    k = kv_base[0];
    v = kv_base[1];
  }
  // The output has 8 extra elements per head that the kernel must leave alone.
  const int padded_dim = c.head_dim + 8;
  DeviceBuffer dq = DeviceBuffer::from(q_base);
  DeviceBuffer dkv = c.packed_qkv ? DeviceBuffer(0) : DeviceBuffer::from(kv_base);
  const DeviceBuffer& kv_buffer = c.packed_qkv ? dq : dkv;
  DeviceBuffer dout = DeviceBuffer::poisoned(size_t{2} * c.batch * c.q_len * c.heads * padded_dim);

  FlashAttentionParams p;
  p.q = device_ptr(dq, q_base, q);
  p.k = device_ptr(kv_buffer, kv_base, k);
  p.v = device_ptr(kv_buffer, kv_base, v);
  p.out = dout.data();
  p.q_batch_stride = q.stride(0), p.q_row_stride = q.stride(1), p.q_head_stride = q.stride(2);
  p.k_batch_stride = k.stride(0), p.k_row_stride = k.stride(1), p.k_head_stride = k.stride(2);
  p.v_batch_stride = v.stride(0), p.v_row_stride = v.stride(1), p.v_head_stride = v.stride(2);
  p.out_head_stride = padded_dim;
  p.out_row_stride = int64_t{c.heads} * padded_dim;
  p.out_batch_stride = p.out_row_stride * c.q_len;
  p.batch = c.batch, p.heads = c.heads, p.q_len = c.q_len, p.kv_len = c.kv_len;
  p.head_dim = c.head_dim;
  p.softmax_scale = static_cast<float>(1.0 / std::sqrt(c.head_dim));
  p.dtype = c.dtype == at::kBFloat16 ? DType::kBFloat16 : DType::kFloat16;
  RAYVID_EXPECT_LAUNCHED(kb::flash_attention_forward(p, nullptr));

  const at::Tensor out_padded =
      dout.to_host({c.batch, c.q_len, c.heads, padded_dim}, c.dtype);         // [B, Lq, H, D + 8]
  const at::Tensor out = out_padded.narrow(3, 0, c.head_dim).to(at::kFloat);  // [B, Lq, H, D]
  const at::Tensor gaps = out_padded.narrow(3, c.head_dim, 8).to(at::kFloat);
  ASSERT_FALSE(out.isnan().any().item<bool>())
      << out.isnan().sum().item<int64_t>() << " output elements were never written";
  ASSERT_TRUE(gaps.isnan().all().item<bool>()) << "the kernel wrote outside the output rows";

  const double scale = p.softmax_scale;  // 1/sqrt(head_dim), the reference's
  const at::Tensor ref =
      ops::attention_reference(q.to(at::kFloat), k.to(at::kFloat), v.to(at::kFloat));  // fp32
  const at::Tensor naive = naive_attention_in_dtype(q, k, v, scale).to(at::kFloat);
  const double kernel_error = (out - ref).abs().max().item<double>();
  const double naive_error = (naive - ref).abs().max().item<double>();
  EXPECT_LE(kernel_error, 2.0 * naive_error + 1e-6)
      << "kernel max error " << kernel_error << ", naive " << naive_error;
  RecordProperty("kernel_max_error", std::to_string(kernel_error));
  RecordProperty("naive_max_error", std::to_string(naive_error));
}

// Small shapes: the emulator runs every CUDA thread as a fiber. Lengths straddle the 64-wide
// tiles (1, 63, 65, 77, 130, ...); 512 keys is Wan's text length for cross-attention.
INSTANTIATE_TEST_SUITE_P(
    Shapes, FlashAttention,
    ::testing::Values(Case{1, 1, 1, 1, 64, at::kBFloat16, false},       // smallest
                      Case{1, 1, 1, 1, 128, at::kHalf, false},          // smallest, Wan head dim
                      Case{2, 2, 77, 50, 64, at::kBFloat16, false},     // ragged, one key tile
                      Case{1, 2, 130, 200, 128, at::kBFloat16, false},  // several tiles
                      Case{2, 1, 64, 128, 128, at::kHalf, false},       // exact multiples
                      Case{1, 3, 63, 65, 64, at::kHalf, false},         // one short, one over
                      Case{1, 1, 40, 512, 128, at::kBFloat16, false},   // cross-attention keys
                      Case{2, 2, 90, 90, 64, at::kBFloat16, true},      // packed qkv strides
                      Case{1, 2, 33, 33, 128, at::kHalf, true}),
    name_of);

TEST(FlashAttentionParams, UnsupportedHeadDimIsRefused) {
  FlashAttentionParams p;
  alignas(16) static uint16_t dummy[64];
  p.q = p.k = p.v = p.out = dummy;
  p.batch = p.heads = p.q_len = p.kv_len = 1;
  p.head_dim = 96;
  const kernels::LaunchError e = kb::flash_attention_forward(p, nullptr);
  ASSERT_NE(e, nullptr);
  EXPECT_NE(std::string(e).find("head_dim"), std::string::npos) << e;
}

#if !defined(RAYVID_KERNEL_TEST_GPU)
// A race between warps (a missing barrier around the K/V buffers, a cp.async waited for too
// late or a buffer refilled too early) shows as a result that depends on the order the emulator
// runs threads in or on when cp.async copies land.
TEST(FlashAttentionEmu, BitIdenticalUnderEveryThreadOrder) {
  const int batch = 1, heads = 1, q_len = 70, kv_len = 150, head_dim = 64;
  at::manual_seed(3);
  const at::Tensor q = at::randn({batch, q_len, heads, head_dim}).to(at::kBFloat16);
  const at::Tensor kv = at::randn({2, batch, kv_len, heads, head_dim}).to(at::kBFloat16);
  DeviceBuffer dq = DeviceBuffer::from(q), dkv = DeviceBuffer::from(kv);
  FlashAttentionParams p;
  p.q = dq.data();
  p.k = dkv.data();
  p.v = dkv.as<char>() + kv[0].nbytes();
  p.q_row_stride = p.k_row_stride = p.v_row_stride = p.out_row_stride = heads * head_dim;
  p.q_head_stride = p.k_head_stride = p.v_head_stride = p.out_head_stride = head_dim;
  p.q_batch_stride = p.out_batch_stride = int64_t{q_len} * heads * head_dim;
  p.k_batch_stride = p.v_batch_stride = int64_t{kv_len} * heads * head_dim;
  p.batch = batch, p.heads = heads, p.q_len = q_len, p.kv_len = kv_len, p.head_dim = head_dim;
  p.softmax_scale = 0.125f;
  p.dtype = DType::kBFloat16;
  // Restored afterwards: ctest also runs this suite under RAYVID_EMU_SCHEDULE / _CP_ASYNC.
  const emu::Schedule saved_schedule = emu::schedule();
  const emu::CpAsyncLanding saved_landing = emu::cp_async_landing();
  std::vector<at::Tensor> outs;
  for (emu::CpAsyncLanding landing :
       {emu::CpAsyncLanding::kAtWait, emu::CpAsyncLanding::kAtIssue}) {
    for (emu::Schedule s :
         {emu::Schedule::kForward, emu::Schedule::kReverse, emu::Schedule::kShuffled,
          emu::Schedule::kWarpByWarp, emu::Schedule::kWarpByWarpReverse}) {
      emu::set_schedule(s, 99);
      emu::set_cp_async_landing(landing);
      DeviceBuffer dout = DeviceBuffer::poisoned(q.nbytes());
      p.out = dout.data();
      RAYVID_EXPECT_LAUNCHED(kb::flash_attention_forward(p, nullptr));
      outs.push_back(dout.to_host(q.sizes(), at::kBFloat16));
    }
  }
  emu::set_schedule(saved_schedule);
  emu::set_cp_async_landing(saved_landing);
  EXPECT_FALSE(outs[0].isnan().any().item<bool>());
  for (size_t i = 1; i < outs.size(); ++i) {
    EXPECT_TRUE(at::equal(outs[0], outs[i])) << "order/landing combination " << i << " differs";
  }
}
#endif

}  // namespace
}  // namespace rayvid::test
