// RAYVID_CHECK: the one error path. The message names the problem and, where there is one, the fix.
//   RAYVID_CHECK(n % 2 == 0, BadArgument, "--width {} is odd; use an even width", n);
#pragma once

#include <fmt/format.h>

#include "rayvid/error.h"

namespace rayvid {

template <typename... Args>
[[noreturn]] void fail(ErrorCategory category, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(category, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace rayvid

#define RAYVID_CHECK(cond, category, ...)                            \
  do {                                                               \
    if (!(cond)) ::rayvid::fail(::rayvid::ErrorCategory::k##category, __VA_ARGS__); \
  } while (0)
