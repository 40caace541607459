// LibTorch errors at the engine boundary: a c10::Error (CUDA out of memory included) never leaves
// the engine as itself. Out of memory on any device becomes kOutOfMemory (exit 5) with the fix;
// anything else kInternal (exit 70) with LibTorch's first line, which names the op and the shapes.
#pragma once

#include <c10/util/Exception.h>

namespace rayvid::engine {

inline constexpr const char* kMemoryFix =
    "choose a lower --resolution or a shorter --duration, or --dtype bf16";

// True for CUDA's OutOfMemoryError and for the CPU allocator's failures (which LibTorch reports as
// a plain c10::Error).
bool is_out_of_memory(const c10::Error& error);

[[noreturn]] void rethrow_as_rayvid_error(const c10::Error& error);

}  // namespace rayvid::engine
