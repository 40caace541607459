// Kernel path counts and logs: see kernel_path.h.
#include "ops/kernel_path.h"

#include <spdlog/spdlog.h>

#include <vector>

namespace rayvid::ops {
namespace {

struct Registry {
  std::mutex mutex;
  std::vector<const KernelPathLog*> logs;
  std::vector<std::string> names;
};

Registry& registry() {
  static Registry r;  // function-local: safe however the ops' static logs are ordered
  return r;
}

}  // namespace

KernelPathLog::KernelPathLog(const char* op, const char* fallback) : op_(op), fallback_(fallback) {
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  r.logs.push_back(this);
  r.names.emplace_back(op);
}

std::map<std::string, KernelPathCounts> kernel_path_counts() {
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  std::map<std::string, KernelPathCounts> out;
  for (size_t i = 0; i < r.logs.size(); ++i) out[r.names[i]] = r.logs[i]->counts();
  return out;
}

void KernelPathLog::took_kernel(bool emulated) {
  ++kernel_;
  if (emulated) {
    std::call_once(logged_[0], [&] {
      spdlog::info("{}: the emu backend runs rayvid's kernel on the CPU emulator", op_);
    });
  }
}

void KernelPathLog::took_fallback(bool emulated) {
  ++fallback_calls_;
  std::call_once(logged_[emulated ? 1 : 2], [&] {
    spdlog::info("{}: the {}rayvid kernel does not apply to these tensors; using {}", op_,
                 emulated ? "emulated " : "", fallback_);
  });
}

}  // namespace rayvid::ops
