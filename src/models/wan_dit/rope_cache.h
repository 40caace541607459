// RoPE tables per latent size, built on first use and shared by every later forward (the table
// depends only on the token grid, never on the step).
#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>

#include "ops/rope3d.h"

namespace rayvid::models::wan_dit {

class RopeTableCache {
 public:
  RopeTableCache(int64_t head_dim, int64_t max_positions, c10::Device device);
  // Thread-safe. Keeps the few most recent grids.
  std::shared_ptr<const ops::Rope3DTable> get(const std::array<int64_t, 3>& grid);

 private:
  static constexpr size_t kMaxTables = 4;
  int64_t head_dim_;
  int64_t max_positions_;
  c10::Device device_;
  std::mutex mutex_;
  std::map<std::array<int64_t, 3>, std::shared_ptr<const ops::Rope3DTable>> tables_;
};

}  // namespace rayvid::models::wan_dit
