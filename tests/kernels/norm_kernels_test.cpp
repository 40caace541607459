// kernels/rms_norm and kernels/adaln against their ops' one references (ops::rms_norm_reference,
// ops/reference/modulation_reference.h): fresh random inputs, the smallest, odd and Wan-sized
// hidden sizes, strided rows with gaps the kernel must not touch, modulation per sample, per group
// of tokens (Wan2.2's per-frame timesteps) and per token, outputs poisoned with NaN before each
// run.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "adaln/adaln.cuh"
#include "kernel_backend.h"
#include "ops/reference/modulation_reference.h"
#include "ops/reference/rms_norm_reference.h"
#include "rms_norm/rms_norm.cuh"
#include "tolerance.h"

namespace rayvid::test {
namespace {

using kernels::DType;

struct NormCase {
  int batch, len, dim;
  at::ScalarType dtype;
  int groups;  // modulation rows per sample ([B, G, C]): 1 per sample, len per token
};

std::string name_of(const ::testing::TestParamInfo<NormCase>& info) {
  const NormCase& c = info.param;
  return std::string(c.dtype == at::kBFloat16 ? "bf16" : "fp16") + "_b" + std::to_string(c.batch) +
         "_l" + std::to_string(c.len) + "_c" + std::to_string(c.dim) + "_g" +
         std::to_string(c.groups);
}

DType dtype_of(at::ScalarType t) { return t == at::kBFloat16 ? DType::kBFloat16 : DType::kFloat16; }

// Rows are dim + 8 apart: the 8 trailing elements of every output row must stay NaN.
constexpr int kGap = 8;

at::Tensor read_rows(const DeviceBuffer& out, const NormCase& c) {
  const at::Tensor padded = out.to_host({c.batch, c.len, c.dim + kGap}, c.dtype);
  EXPECT_TRUE(padded.narrow(2, c.dim, kGap).isnan().all().item<bool>())
      << "the kernel wrote between rows";
  return padded.narrow(2, 0, c.dim);  // [B, L, C]
}

class NormKernels : public ::testing::TestWithParam<NormCase> {};

TEST_P(NormKernels, RmsNormAcrossHiddenMatchesReference) {
  RAYVID_REQUIRE_BACKEND();
  const NormCase c = GetParam();
  at::manual_seed(c.dim + c.len);
  const at::Tensor x_padded =
      (at::randn({c.batch, c.len, c.dim + kGap}) * 3 + 0.5).to(c.dtype);  // [B, L, C + 8]
  const at::Tensor x = x_padded.narrow(2, 0, c.dim);                      // [B, L, C] view
  const at::Tensor weight = (at::rand({c.dim}) + 0.5).to(c.dtype);        // [C]
  DeviceBuffer dx = DeviceBuffer::from(x_padded), dw = DeviceBuffer::from(weight);
  DeviceBuffer dout = DeviceBuffer::poisoned(x_padded.nbytes());
  kernels::RmsNormParams p;
  p.x = dx.data(), p.weight = dw.data(), p.out = dout.data();
  p.x_row_stride = p.out_row_stride = c.dim + kGap;
  p.rows = int64_t{c.batch} * c.len, p.dim = c.dim, p.eps = 1e-6f, p.dtype = dtype_of(c.dtype);
  RAYVID_EXPECT_LAUNCHED(kb::rms_norm_forward(p, nullptr));
  const at::Tensor out = read_rows(dout, c);
  const at::Tensor ref32 = ops::rms_norm_reference(x.to(at::kFloat), weight.to(at::kFloat), 1e-6);
  const at::Tensor naive = x * at::rsqrt(x.pow(2).mean(-1, true) + 1e-6) * weight;  // all in dtype
  expect_within_twice_naive(out, ref32, naive);
  expect_within_one_ulp(out, ops::rms_norm_reference(x, weight, 1e-6));
}

TEST_P(NormKernels, LayerNormModulateMatchesReference) {
  RAYVID_REQUIRE_BACKEND();
  const NormCase c = GetParam();
  at::manual_seed(c.dim * 3 + c.len);
  const at::Tensor x_padded = (at::randn({c.batch, c.len, c.dim + kGap}) * 2 + 1).to(c.dtype);
  const at::Tensor x = x_padded.narrow(2, 0, c.dim);                     // [B, L, C]
  const at::Tensor shift = at::randn({c.batch, c.groups, c.dim}) * 0.5;  // [B, G, C] fp32
  const at::Tensor scale = at::randn({c.batch, c.groups, c.dim}) * 0.5;
  DeviceBuffer dx = DeviceBuffer::from(x_padded), dshift = DeviceBuffer::from(shift);
  DeviceBuffer dscale = DeviceBuffer::from(scale), dout = DeviceBuffer::poisoned(x_padded.nbytes());
  kernels::LayerNormModulateParams p;
  p.x = dx.data(), p.shift = dshift.as<float>(), p.scale = dscale.as<float>(), p.out = dout.data();
  p.x_row_stride = p.out_row_stride = c.dim + kGap;
  p.x_batch_stride = p.out_batch_stride = int64_t{c.len} * (c.dim + kGap);
  p.mod_row_stride = c.dim, p.mod_batch_stride = int64_t{c.groups} * c.dim;
  p.batch = c.batch, p.len = c.len, p.group_len = c.len / c.groups, p.dim = c.dim, p.eps = 1e-6f;
  p.dtype = dtype_of(c.dtype);
  RAYVID_EXPECT_LAUNCHED(kb::layer_norm_modulate_forward(p, nullptr));
  const at::Tensor out = read_rows(dout, c);
  const at::Tensor ref32 = ops::layer_norm_modulate_reference(x.to(at::kFloat), shift, scale, 1e-6);
  const at::Tensor rows = at::repeat_interleave(at::arange(c.groups), c.len / c.groups);  // [L]
  const at::Tensor naive =
      at::layer_norm(x, {c.dim}, {}, {}, 1e-6) * (1 + scale.index_select(1, rows).to(c.dtype)) +
      shift.index_select(1, rows).to(c.dtype);  // all in dtype
  expect_within_twice_naive(out, ref32, naive);
  expect_within_one_ulp(out, ops::layer_norm_modulate_reference(x, shift, scale, 1e-6));
}

TEST_P(NormKernels, GatedResidualMatchesReference) {
  RAYVID_REQUIRE_BACKEND();
  const NormCase c = GetParam();
  at::manual_seed(c.dim * 5 + c.len);
  const at::Tensor x_padded = at::randn({c.batch, c.len, c.dim + kGap}).to(c.dtype);
  const at::Tensor y = at::randn({c.batch, c.len, c.dim}).to(c.dtype);  // contiguous
  const at::Tensor x = x_padded.narrow(2, 0, c.dim);
  const at::Tensor gate = at::randn({c.batch, c.groups, c.dim});  // [B, G, C] fp32
  DeviceBuffer dx = DeviceBuffer::from(x_padded), dy = DeviceBuffer::from(y);
  DeviceBuffer dgate = DeviceBuffer::from(gate), dout = DeviceBuffer::poisoned(x_padded.nbytes());
  kernels::GatedResidualParams p;
  p.x = dx.data(), p.y = dy.data(), p.gate = dgate.as<float>(), p.out = dout.data();
  p.x_row_stride = p.out_row_stride = c.dim + kGap;
  p.x_batch_stride = p.out_batch_stride = int64_t{c.len} * (c.dim + kGap);
  p.y_row_stride = c.dim, p.y_batch_stride = int64_t{c.len} * c.dim;
  p.gate_row_stride = c.dim, p.gate_batch_stride = int64_t{c.groups} * c.dim;
  p.batch = c.batch, p.len = c.len, p.group_len = c.len / c.groups, p.dim = c.dim;
  p.dtype = dtype_of(c.dtype);
  RAYVID_EXPECT_LAUNCHED(kb::gated_residual_forward(p, nullptr));
  const at::Tensor out = read_rows(dout, c);
  const at::Tensor rows = at::repeat_interleave(at::arange(c.groups), c.len / c.groups);  // [L]
  const at::Tensor gate_per_token = gate.index_select(1, rows);  // [B, L, C]
  const at::Tensor ref32 = x.to(at::kFloat) + y.to(at::kFloat) * gate_per_token;
  const at::Tensor naive = x + y * gate_per_token.to(c.dtype);  // all in dtype
  expect_within_twice_naive(out, ref32, naive);
  // The kernel rounds exactly as the reference: bit-identical.
  EXPECT_TRUE(at::equal(out.contiguous(), ops::gated_residual_reference(x, y, gate)));
}

// Emulated: every row is a block of 256 fibers, so few rows; dims from the smallest (8) and odd
// multiples of 8 to Wan 1.3B (1536), 14B (5120) and the kernel's limit (8192).
INSTANTIATE_TEST_SUITE_P(Shapes, NormKernels,
                         ::testing::Values(NormCase{1, 1, 8, at::kBFloat16, 1},
                                           NormCase{2, 3, 40, at::kHalf, 3},
                                           NormCase{1, 6, 1536, at::kBFloat16, 3},
                                           NormCase{2, 2, 5120, at::kBFloat16, 1},
                                           NormCase{1, 2, 2056, at::kHalf, 1},
                                           NormCase{1, 1, 8192, at::kBFloat16, 1}),
                         name_of);

TEST(NormKernelParams, TooWideRowIsRefused) {
  kernels::RmsNormParams p;
  alignas(16) static uint16_t dummy[8];
  p.x = p.weight = p.out = dummy;
  p.rows = 1, p.dim = 8200;
  const kernels::LaunchError e = kb::rms_norm_forward(p, nullptr);
  ASSERT_NE(e, nullptr);
  EXPECT_NE(std::string(e).find("8192"), std::string::npos) << e;
}

}  // namespace
}  // namespace rayvid::test
