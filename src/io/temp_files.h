// Temporary output files that must not outlive the process: every AtomicOutput registers its
// temporary file here, and a handler for SIGINT, SIGTERM and SIGHUP removes whatever is still
// registered, says so in one line on stderr, and then lets the signal end the process as it would
// have (so the exit status still says "killed by SIGINT").
//
// SIGKILL cannot be caught: a run killed that way leaves its `.NAME.tmp-PID-RAND.mp4` beside the
// target (never a partial file under the requested name); such files are safe to delete.
#pragma once

#include <filesystem>

namespace rayvid::io {

// Installs the handlers once (idempotent). AtomicOutput calls it; a program may call it early.
void install_temp_file_cleanup();

// Registers / unregisters a path. At most kMaxTempFiles at once (more are not tracked, which only
// loses the cleanup on a signal). Thread-safe; the handler is async-signal-safe.
inline constexpr int kMaxTempFiles = 32;
void register_temp_file(const std::filesystem::path& path);
void unregister_temp_file(const std::filesystem::path& path);

}  // namespace rayvid::io
