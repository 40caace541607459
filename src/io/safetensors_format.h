// The safetensors file format: header parsing and validation, with no tensor library involved, so
// the fuzzer and the sanitizer build exercise exactly this code.
//
// Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the data buffer.
// The JSON maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]} relative to the
// buffer, plus an optional free-form "__metadata__" object of string values. We validate what the
// reference implementation validates: N capped at 100 MB, a JSON object with no duplicate names,
// offsets contiguous from 0 with no holes or overlap, each byte length equal to numel x dtype size,
// and the buffer ending exactly at the end of the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rayvid::io {

enum class StDType { kF64, kF32, kF16, kBF16, kF8E4M3, kF8E5M2, kI64, kI32, kI16, kI8, kU8, kBool };

// Bytes per element, and the name used in the file ("BF16").
size_t dtype_size(StDType dtype);
std::string_view dtype_name(StDType dtype);

struct StTensorEntry {
  std::string name;
  StDType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offset of the first element, relative to the data buffer
  uint64_t end = 0;    // one past the last byte
  int64_t numel() const;
};

struct StHeader {
  std::vector<StTensorEntry> tensors;  // in data-offset order
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // file offset of the data buffer (8 + N)
};

inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// Parses and validates a whole safetensors file held in memory. `label` (usually the path) is
// named in every error. Throws rayvid::Error(kBadInput) on any violation.
StHeader parse_safetensors(const uint8_t* file_bytes, size_t file_size, const std::string& label);

}  // namespace rayvid::io
