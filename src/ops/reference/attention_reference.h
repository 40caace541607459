// The executable specification of ops::attention: fp32 scores, fp32 softmax, fp32 weighted sum,
// one query chunk at a time so the [B, heads, chunk, Lk] score block stays under a byte budget.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace rayvid::ops {

// Same contract as ops::attention. `query_chunk` > 0 forces the chunk length (tests use it to
// cover ragged last chunks); 0 picks the largest chunk whose fp32 scores fit in 64 MiB.
at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               int64_t query_chunk = 0);

}  // namespace rayvid::ops
