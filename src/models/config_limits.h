// Range checks shared by the model configs. A config value is used to size tensors, divide and
// loop, so every field is checked before use: zero or negative sizes crash (division by zero),
// and absurd ones make "models" that could never be loaded, or overflow the size arithmetic.
// The caps sit far above every published Wan, umT5 and CLIP size.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "core/check.h"

namespace rayvid::models {

inline constexpr int64_t kMaxConfigWidth = int64_t{1} << 17;  // channels, hidden sizes (14B: 13824)
inline constexpr int64_t kMaxConfigLayers = 1024;             // blocks (Wan: 40, umT5-XXL: 24)
inline constexpr int64_t kMaxConfigHeads = 1024;              // attention heads (Wan 14B: 40)
inline constexpr int64_t kMaxConfigVocab = int64_t{1} << 24;  // tokens (umT5: 256,384)

// `where` is the config file (or the checkpoint a config was detected from), `field` its key.
inline void check_size(const std::string& where, const char* field, int64_t value, int64_t max) {
  RAYVID_CHECK(value >= 1 && value <= max, BadInput, "{}: {} is {}; it must be within 1..{}", where,
               field, value, max);
}

// A positive, finite epsilon or scale below `max`.
inline void check_positive_real(const std::string& where, const char* field, double value,
                                double max) {
  RAYVID_CHECK(std::isfinite(value) && value > 0 && value <= max, BadInput,
               "{}: {} is {}; it must be a number within 0 < {} <= {}", where, field, value, field,
               max);
}

}  // namespace rayvid::models
