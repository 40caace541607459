// Plain ATen attention (see flash_attention_ref.h).
#include "ops/reference/flash_attention_ref.h"

#include "core/check.h"

namespace rayvid::ops::kernel_ref {

at::Tensor attention_naive(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           double scale) {
  RAYVID_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, BadArgument,
               "attention_naive expects [B, L, H, D] tensors, got {}, {}, {} dims", q.dim(),
               k.dim(), v.dim());
  const at::Tensor qh = q.transpose(1, 2);                               // [B, H, Lq, D]
  const at::Tensor kh = k.transpose(1, 2);                               // [B, H, Lk, D]
  const at::Tensor vh = v.transpose(1, 2);                               // [B, H, Lk, D]
  const at::Tensor scores = at::matmul(qh, kh.transpose(2, 3)) * scale;  // [B, H, Lq, Lk]
  const at::Tensor probs = at::softmax(scores, -1);                      // [B, H, Lq, Lk]
  return at::matmul(probs, vh).transpose(1, 2).contiguous();             // [B, Lq, H, D]
}

}  // namespace rayvid::ops::kernel_ref
