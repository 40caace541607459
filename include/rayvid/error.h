// rayvid::Error: the one exception type rayvid throws. Plain C++ only (no LibTorch), so programs
// that embed rayvid can catch it without LibTorch headers. The category decides the CLI's exit
// code and, later, the server's HTTP status.
#pragma once

#include <stdexcept>
#include <string>

namespace rayvid {

enum class ErrorCategory {
  kBadArgument,  // a flag or request field is wrong: the user fixes the command line
  kBadInput,     // an input file (checkpoint, image, config) is missing, unreadable or corrupt
  kUnsupported,  // well-formed, but this model or build cannot do it
  kOutOfMemory,  // the request does not fit the device's memory
  kInternal,     // a bug in rayvid
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCategory category, const std::string& message)
      : std::runtime_error(message), category_(category) {}
  ErrorCategory category() const noexcept { return category_; }

 private:
  ErrorCategory category_;
};

// Process exit codes, distinct per category (documented in the README).
inline int exit_code_for(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::kBadArgument: return 2;
    case ErrorCategory::kBadInput: return 3;
    case ErrorCategory::kUnsupported: return 4;
    case ErrorCategory::kOutOfMemory: return 5;
    case ErrorCategory::kInternal: return 70;
  }
  return 70;
}

inline const char* category_name(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::kBadArgument: return "bad argument";
    case ErrorCategory::kBadInput: return "bad input";
    case ErrorCategory::kUnsupported: return "unsupported";
    case ErrorCategory::kOutOfMemory: return "out of memory";
    case ErrorCategory::kInternal: return "internal error";
  }
  return "internal error";
}

}  // namespace rayvid
