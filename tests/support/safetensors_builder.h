// Builds safetensors byte images by hand for tests, including deliberately broken ones.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rayvid::test {

// Header length (8 bytes little-endian) + header text + data bytes.
inline std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

// A valid two-tensor file: "a" F32 [2,3] (values 0..5) and "b" BF16 [4], with metadata.
inline std::string valid_safetensors() {
  std::string data;
  for (int i = 0; i < 6; ++i) {
    float v = static_cast<float>(i);
    data.append(reinterpret_cast<const char*>(&v), 4);
  }
  const uint16_t bf16_one = 0x3f80;  // 1.0 in bfloat16
  for (int i = 0; i < 4; ++i) data.append(reinterpret_cast<const char*>(&bf16_one), 2);
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
      R"("b":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]}})";
  return safetensors_bytes(header, data);
}

}  // namespace rayvid::test
