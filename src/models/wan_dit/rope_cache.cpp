// RoPE table cache: see rope_cache.h.
#include "models/wan_dit/rope_cache.h"

#include "core/check.h"

namespace rayvid::models::wan_dit {

namespace {
constexpr double kRopeTheta = 10000.0;
}

RopeTableCache::RopeTableCache(int64_t head_dim, int64_t max_positions, c10::Device device)
    : head_dim_(head_dim), max_positions_(max_positions), device_(device) {}

std::shared_ptr<const ops::Rope3DTable> RopeTableCache::get(const std::array<int64_t, 3>& grid) {
  for (int64_t n : grid)
    RAYVID_CHECK(n <= max_positions_, BadArgument,
                 "latent grid {}x{}x{} (frames x rows x columns after patching) exceeds the "
                 "model's {} RoPE positions per axis; use fewer frames or a smaller size",
                 grid[0], grid[1], grid[2], max_positions_);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = tables_.find(grid);
  if (it != tables_.end()) return it->second;
  if (tables_.size() >= kMaxTables) tables_.clear();
  auto table = std::make_shared<const ops::Rope3DTable>(
      ops::make_rope3d_table(head_dim_, grid, kRopeTheta, device_));
  tables_.emplace(grid, table);
  return table;
}

}  // namespace rayvid::models::wan_dit
