// Reference attention: see attention_reference.h.
#include "ops/reference/attention_reference.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace rayvid::ops {

at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               int64_t query_chunk) {
  const int64_t batch = q.size(0), length_q = q.size(1), heads = q.size(2), head_dim = q.size(3);
  const int64_t length_k = k.size(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  if (query_chunk <= 0) {
    constexpr int64_t kScoreBudgetBytes = int64_t{64} << 20;
    query_chunk = std::max<int64_t>(
        1, kScoreBudgetBytes / std::max<int64_t>(1, batch * heads * length_k * 4));
  }
  const at::Tensor key_t = k.to(at::kFloat).permute({0, 2, 3, 1});   // [B, heads, head_dim, Lk]
  const at::Tensor value = v.to(at::kFloat).transpose(1, 2);         // [B, heads, Lk, head_dim]
  at::Tensor out = at::empty_like(q, at::MemoryFormat::Contiguous);  // [B, Lq, heads, head_dim]
  for (int64_t start = 0; start < length_q; start += query_chunk) {
    const int64_t n = std::min(query_chunk, length_q - start);
    const at::Tensor query = q.narrow(1, start, n).to(at::kFloat).transpose(1, 2);  // [B, h, n, d]
    const at::Tensor scores = at::matmul(query, key_t).mul_(scale);  // [B, heads, n, Lk] fp32
    const at::Tensor probs = at::softmax(scores, -1);                // [B, heads, n, Lk] fp32
    out.narrow(1, start, n).copy_(at::matmul(probs, value).transpose(1, 2));  // [B, n, h, d]
  }
  return out;
}

}  // namespace rayvid::ops
