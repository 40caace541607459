// LibTorch errors at the engine boundary: see torch_errors.h.
#include "engine/torch_errors.h"

#include <string>

#include "core/check.h"

namespace rayvid::engine {

bool is_out_of_memory(const c10::Error& error) {
  if (dynamic_cast<const c10::OutOfMemoryError*>(&error) != nullptr) return true;
  const std::string message = error.what_without_backtrace();
  for (const char* sign :
       {"out of memory", "not enough memory", "can't allocate memory", "Cannot allocate memory"}) {
    if (message.find(sign) != std::string::npos) return true;
  }
  return false;
}

void rethrow_as_rayvid_error(const c10::Error& error) {
  std::string first_line = error.what_without_backtrace();
  first_line = first_line.substr(0, first_line.find('\n'));
  if (is_out_of_memory(error))
    fail(ErrorCategory::kOutOfMemory, "{} ({}); {}", "the device ran out of memory", first_line,
         kMemoryFix);
  fail(ErrorCategory::kInternal, "LibTorch: {}", first_line);
}

}  // namespace rayvid::engine
