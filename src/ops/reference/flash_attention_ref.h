// Plain ATen attention: the executable specification of kernels/flash_attention. Kept apart from
// attention_reference.* (the DiT's op) so that the kernel tests do not depend on it.
#pragma once

#include <ATen/ATen.h>

namespace rayvid::ops::kernel_ref {

// softmax(q k^T * scale) v per batch and head, computed in q's dtype with no upcast (so a bf16
// call is the "naive low-precision attention" of the FlashAttention tolerance and a float call
// the fp32 reference). q: [B, Lq, H, D], k and v: [B, Lk, H, D] (any strides) -> [B, Lq, H, D].
at::Tensor attention_naive(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           double scale);

}  // namespace rayvid::ops::kernel_ref
