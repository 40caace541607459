// ops::attention against attention written out as loops in double precision, for every backend,
// at lengths that are not multiples of any tile size (1, 7, 33, 130), in fp32 and bf16.
#include "ops/attention.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "ops/reference/attention_reference.h"
#include "support/golden.h"

namespace rayvid::ops {
namespace {

// out[b, i, h, :] = Σ_j softmax_j(q[b,i,h,:]·k[b,j,h,:] / √D) · v[b, j, h, :]
at::Tensor attention_by_loops(const at::Tensor& q_in, const at::Tensor& k_in,
                              const at::Tensor& v_in) {
  const at::Tensor q = q_in.to(at::kDouble).contiguous(), k = k_in.to(at::kDouble).contiguous(),
                   v = v_in.to(at::kDouble).contiguous();
  const int64_t B = q.size(0), Lq = q.size(1), H = q.size(2), D = q.size(3), Lk = k.size(1);
  at::Tensor out = at::zeros({B, Lq, H, D}, at::kDouble);
  auto qa = q.accessor<double, 4>(), ka = k.accessor<double, 4>(), va = v.accessor<double, 4>();
  auto oa = out.accessor<double, 4>();
  std::vector<double> score(Lk);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < Lq; ++i) {
        double max_score = -INFINITY;
        for (int64_t j = 0; j < Lk; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += qa[b][i][h][d] * ka[b][j][h][d];
          score[j] = dot / std::sqrt(static_cast<double>(D));
          max_score = std::max(max_score, score[j]);
        }
        double total = 0;
        for (int64_t j = 0; j < Lk; ++j) total += (score[j] = std::exp(score[j] - max_score));
        for (int64_t j = 0; j < Lk; ++j)
          for (int64_t d = 0; d < D; ++d) oa[b][i][h][d] += score[j] / total * va[b][j][h][d];
      }
  return out;
}

struct Shape {
  int64_t batch, length_q, length_k, heads, head_dim;
};

constexpr Shape kShapes[] = {{1, 1, 1, 1, 16},   {2, 7, 7, 2, 16},   {2, 33, 130, 2, 16},
                             {1, 130, 33, 3, 8}, {2, 130, 1, 2, 16}, {1, 7, 130, 2, 128}};

at::Tensor random(std::vector<int64_t> shape, uint64_t seed, double scale) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn(shape, gen) * scale;
}

void check_all_backends(c10::ScalarType dtype, double tolerance) {
  uint64_t seed = 1;
  for (const Shape& s : kShapes) {
    SCOPED_TRACE(::testing::Message() << "B " << s.batch << " Lq " << s.length_q << " Lk "
                                      << s.length_k << " heads " << s.heads << " D " << s.head_dim);
    // Scale 2 makes the softmax peaked enough that a wrong scale or max-subtraction shows.
    const at::Tensor q = random({s.batch, s.length_q, s.heads, s.head_dim}, seed++, 2).to(dtype);
    const at::Tensor k = random({s.batch, s.length_k, s.heads, s.head_dim}, seed++, 2).to(dtype);
    const at::Tensor v = random({s.batch, s.length_k, s.heads, s.head_dim}, seed++, 1).to(dtype);
    const at::Tensor expected = attention_by_loops(q, k, v);
    // kEmu runs the flash-attention kernel on the CPU emulator for the bf16 head_dim 128 shape
    // and falls back to sdpa for the others.
    for (auto backend : {KernelBackend::kReference, KernelBackend::kAten, KernelBackend::kRayvid,
                         KernelBackend::kEmu}) {
      const at::Tensor out = attention(q, k, v, backend);
      EXPECT_EQ(out.scalar_type(), dtype);
      EXPECT_TRUE(test::close_to(out, expected, tolerance)) << kernel_backend_name(backend);
    }
    // Ragged query chunks (7 does not divide 33 or 130).
    EXPECT_TRUE(test::close_to(attention_reference(q, k, v, 7), expected, tolerance));
  }
}

TEST(Attention, MatchesLoopsFp32) { check_all_backends(at::kFloat, 1e-5); }
TEST(Attention, MatchesLoopsBf16) { check_all_backends(at::kBFloat16, 1e-2); }

TEST(Attention, AcceptsStridedViews) {
  // q/k/v as the DiT makes them: heads split out of a [B, L, 3·dim] projection.
  const at::Tensor qkv = random({2, 33, 3 * 4 * 16}, 7, 1);
  const at::Tensor q = qkv.narrow(2, 0, 64).view({2, 33, 4, 16});
  const at::Tensor k = qkv.narrow(2, 64, 64).view({2, 33, 4, 16});
  const at::Tensor v = qkv.narrow(2, 128, 64).view({2, 33, 4, 16});
  const at::Tensor expected = attention_by_loops(q, k, v);
  for (auto backend : {KernelBackend::kReference, KernelBackend::kAten})
    EXPECT_TRUE(test::close_to(attention(q, k, v, backend), expected, 1e-5));
}

TEST(Attention, ParsesBackendNames) {
  for (auto backend : {KernelBackend::kReference, KernelBackend::kAten, KernelBackend::kRayvid,
                       KernelBackend::kEmu})
    EXPECT_EQ(parse_kernel_backend(kernel_backend_name(backend), c10::kCPU), backend);
  // auto: rayvid's kernels on CUDA, LibTorch elsewhere.
  EXPECT_EQ(parse_kernel_backend("auto", c10::Device(c10::kCUDA, 0)), KernelBackend::kRayvid);
  EXPECT_EQ(parse_kernel_backend("auto", c10::kCPU), KernelBackend::kAten);
  try {
    parse_kernel_backend("flash", c10::kCPU);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("use auto, rayvid, aten, emu or reference"),
              std::string::npos);
  }
}

TEST(Attention, RefusesMismatchedInputs) {
  const at::Tensor q = at::zeros({1, 4, 2, 8}), k = at::zeros({1, 5, 2, 8});
  EXPECT_THROW(attention(q, k, at::zeros({1, 5, 2, 4}), KernelBackend::kAten), Error);
  EXPECT_THROW(attention(q, at::zeros({1, 5, 3, 8}), at::zeros({1, 5, 3, 8}), KernelBackend::kAten),
               Error);
  EXPECT_THROW(attention(q, k.to(at::kBFloat16), k.to(at::kBFloat16), KernelBackend::kAten), Error);
  EXPECT_THROW(attention(q.view({4, 2, 8}), k, k, KernelBackend::kReference), Error);
}

}  // namespace
}  // namespace rayvid::ops
