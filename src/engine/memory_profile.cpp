// Memory profiles: see memory_profile.h.
#include "engine/memory_profile.h"

#include "core/check.h"

namespace rayvid::engine {

MemoryProfile parse_memory_profile(const std::string& name) {
  if (name == "max") return MemoryProfile::kMax;
  if (name == "balanced") return MemoryProfile::kBalanced;
  if (name == "low") return MemoryProfile::kLow;
  fail(ErrorCategory::kBadArgument, "--memory {}: expected auto, max, balanced or low", name);
}

bool wants_fp8_storage(const std::string& weights, bool checkpoint_stores_fp8) {
  RAYVID_CHECK(weights == "auto" || weights == "fp8" || weights == "compute", BadArgument,
               "--weights {}: expected auto, fp8 or compute", weights);
  return weights == "fp8" || (weights == "auto" && checkpoint_stores_fp8);
}

std::string memory_profile_name(MemoryProfile profile) {
  switch (profile) {
    case MemoryProfile::kMax:
      return "max";
    case MemoryProfile::kBalanced:
      return "balanced";
    case MemoryProfile::kLow:
      return "low";
  }
  return "?";
}

}  // namespace rayvid::engine
