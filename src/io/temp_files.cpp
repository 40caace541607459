// Removal of registered temporary files on SIGINT/SIGTERM/SIGHUP: see temp_files.h.
#include "io/temp_files.h"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>

namespace rayvid::io {
namespace {

// Fixed storage, so the handler touches no allocator: a slot is written under the mutex while its
// flag is clear, then published by setting the flag; the handler reads published slots only.
constexpr size_t kMaxPath = 4096;
std::array<std::array<char, kMaxPath>, kMaxTempFiles> g_paths;
std::array<std::atomic<bool>, kMaxTempFiles> g_used{};
std::mutex g_mutex;

void write_stderr(const char* text) {
  ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

extern "C" void on_signal(int sig) {
  int removed = 0;
  for (int i = 0; i < kMaxTempFiles; ++i) {
    if (g_used[i].load() && ::unlink(g_paths[i].data()) == 0) ++removed;
  }
  const char* name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
  char count[16];
  int n = 0;
  int value = removed;
  char digits[16];
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0 && n < 15);
  for (int k = 0; k < n; ++k) count[k] = digits[n - 1 - k];
  count[n] = '\0';
  write_stderr("rayvid: interrupted by ");
  write_stderr(name);
  write_stderr("; removed ");
  write_stderr(count);
  write_stderr(removed == 1 ? " temporary file, no output written\n"
                            : " temporary files, no output written\n");
  // Die of the same signal, as the caller (a shell, a job runner) expects.
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

void install_temp_file_cleanup() {
  static const bool installed = [] {
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction previous {};
      // A signal the parent set to be ignored (nohup) stays ignored.
      if (::sigaction(sig, nullptr, &previous) == 0 && previous.sa_handler == SIG_IGN) continue;
      ::sigaction(sig, &action, nullptr);
    }
    return true;
  }();
  (void)installed;
}

void register_temp_file(const std::filesystem::path& path) {
  const std::string text = path.string();
  if (text.size() >= kMaxPath) return;
  std::lock_guard lock(g_mutex);
  for (int i = 0; i < kMaxTempFiles; ++i) {
    if (g_used[i].load()) continue;
    std::memcpy(g_paths[i].data(), text.c_str(), text.size() + 1);
    g_used[i].store(true);
    return;
  }
}

void unregister_temp_file(const std::filesystem::path& path) {
  const std::string text = path.string();
  std::lock_guard lock(g_mutex);
  for (int i = 0; i < kMaxTempFiles; ++i) {
    if (g_used[i].load() && text == g_paths[i].data()) {
      g_used[i].store(false);
      return;
    }
  }
}

}  // namespace rayvid::io
