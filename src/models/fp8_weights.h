// fp8 weight storage: a Linear weight kept in float8_e4m3fn with a float32 scale (half the bytes
// of bf16), dequantized one layer at a time for its matmul. The same arithmetic serves the fp8
// files users download (their stored data and scale) and `--weights fp8` on any checkpoint
// (quantized at load, one scale per output row as ComfyUI's current fp8 files store it).
#pragma once

#include <ATen/core/Tensor.h>

#include "models/weights.h"

namespace rayvid::models {

// The largest finite float8_e4m3fn value: a row's largest |weight| maps to it.
inline constexpr double kFp8E4m3Max = 448.0;

// weight [out, in] (any float dtype) -> fp8 data and one fp32 scale per output row
// (max |row| / 448, at least 1e-12 / 448), on the weight's device.
Fp8Weight quantize_fp8_rowwise(const at::Tensor& weight);

// data x scale in fp32 (the scale broadcast over all but the first dimension), then cast to
// `dtype`: the values a checkpoint's fp8 weight stands for.
at::Tensor dequantize_fp8(const Fp8Weight& weight, c10::ScalarType dtype);

bool is_fp8_dtype(c10::ScalarType dtype);

}  // namespace rayvid::models
