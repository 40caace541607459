// libFuzzer target for the safetensors header parser (built with clang, ASan and UBSan):
//   scripts/fuzz [seconds]
// Any input must either parse or throw rayvid::Error; anything else is a finding.
#include <cstddef>
#include <cstdint>

#include "io/safetensors_format.h"
#include "rayvid/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    rayvid::io::parse_safetensors(data, size, "fuzz");
  } catch (const rayvid::Error&) {
  }
  return 0;
}
