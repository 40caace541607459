// kernels/rope3d against ops::rope3d_reference, the op's one reference (diffusers'
// apply_rotary_emb), with the table ops::make_rope3d_table builds as WanRotaryPosEmbed does: q and
// k in one launch, packed-qkv strides, in place and out of place, Wan's head_dim 128 and the tiny
// models' 64, odd grids.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "kernel_backend.h"
#include "ops/reference/rope3d_reference.h"
#include "ops/rope3d.h"
#include "rope3d/rope3d.cuh"

namespace rayvid::test {
namespace {

using kernels::DType;

struct RopeCase {
  int batch, grid_f, grid_h, grid_w, heads, head_dim;
  at::ScalarType dtype;
};

std::string name_of(const ::testing::TestParamInfo<RopeCase>& info) {
  const RopeCase& c = info.param;
  return std::string(c.dtype == at::kBFloat16 ? "bf16" : "fp16") + "_b" + std::to_string(c.batch) +
         "_grid" + std::to_string(c.grid_f) + "x" + std::to_string(c.grid_h) + "x" +
         std::to_string(c.grid_w) + "_h" + std::to_string(c.heads) + "_d" +
         std::to_string(c.head_dim);
}

class Rope3D : public ::testing::TestWithParam<RopeCase> {};

TEST_P(Rope3D, QAndKMatchReference) {
  RAYVID_REQUIRE_BACKEND();
  const RopeCase c = GetParam();
  const int len = c.grid_f * c.grid_h * c.grid_w;
  at::manual_seed(len + c.head_dim);
  // q and k sliced from a packed [B, L, 3, H, D] projection; q rotated out of place into a
  // poisoned buffer, k in place.
  const at::Tensor qkv = at::randn({c.batch, len, 3, c.heads, c.head_dim}).to(c.dtype);
  const at::Tensor q = qkv.select(2, 0), k = qkv.select(2, 1);  // [B, L, H, D] views
  DeviceBuffer dqkv = DeviceBuffer::from(qkv);
  DeviceBuffer dq_out = DeviceBuffer::poisoned(q.numel() * 2);
  const ops::Rope3DTable table =
      ops::make_rope3d_table(c.head_dim, {c.grid_f, c.grid_h, c.grid_w}, 10000.0, c10::kCPU);
  DeviceBuffer dcos = DeviceBuffer::from(table.cos), dsin = DeviceBuffer::from(table.sin);
  kernels::Rope3DParams p;
  kernels::Rope3DTensor& tq = p.tensors[0];
  tq.in = device_ptr(dqkv, qkv, q), tq.out = dq_out.data();
  tq.in_batch_stride = q.stride(0), tq.in_row_stride = q.stride(1), tq.in_head_stride = q.stride(2);
  tq.out_head_stride = c.head_dim, tq.out_row_stride = int64_t{c.heads} * c.head_dim;
  tq.out_batch_stride = tq.out_row_stride * len;
  kernels::Rope3DTensor& tk = p.tensors[1];
  tk.in = device_ptr(dqkv, qkv, k), tk.out = device_ptr(dqkv, qkv, k);
  tk.in_batch_stride = tk.out_batch_stride = k.stride(0);
  tk.in_row_stride = tk.out_row_stride = k.stride(1);
  tk.in_head_stride = tk.out_head_stride = k.stride(2);
  p.num_tensors = 2, p.batch = c.batch, p.len = len, p.heads = c.heads, p.head_dim = c.head_dim;
  p.cos = dcos.as<float>(), p.sin = dsin.as<float>();
  p.dtype = c.dtype == at::kBFloat16 ? DType::kBFloat16 : DType::kFloat16;
  RAYVID_EXPECT_LAUNCHED(kb::rope3d_forward(p, nullptr));

  const at::Tensor q_out = dq_out.to_host(q.sizes(), c.dtype);    // [B, L, H, D]
  const at::Tensor qkv_out = dqkv.to_host(qkv.sizes(), c.dtype);  // [B, L, 3, H, D]
  const at::Tensor k_out = qkv_out.select(2, 1);
  EXPECT_TRUE(at::equal(qkv_out.select(2, 0), q)) << "q's input was modified";
  EXPECT_TRUE(at::equal(qkv_out.select(2, 2), qkv.select(2, 2))) << "v was modified";

  for (const auto& [out, in] : {std::pair{q_out, q}, std::pair{k_out, k}}) {
    ASSERT_FALSE(out.isnan().any().item<bool>()) << "elements never written (NaN poison)";
    // The kernel rounds exactly as the reference: each product once in fp32, then once to dtype.
    EXPECT_TRUE(at::equal(out, ops::rope3d_reference(in, table.cos, table.sin)));
  }
}

// Grids with every axis > 1 so that all three frequency bands vary; odd sizes.
INSTANTIATE_TEST_SUITE_P(Shapes, Rope3D,
                         ::testing::Values(RopeCase{1, 1, 1, 1, 1, 64, at::kBFloat16},
                                           RopeCase{2, 3, 5, 7, 2, 128, at::kBFloat16},
                                           RopeCase{1, 2, 3, 4, 3, 64, at::kHalf},
                                           RopeCase{1, 21, 2, 3, 1, 128, at::kHalf}),
                         name_of);

}  // namespace
}  // namespace rayvid::test
