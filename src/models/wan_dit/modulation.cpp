// Timestep grouping and AdaLN modulation: see modulation.h.
#include "models/wan_dit/modulation.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include "core/check.h"

namespace rayvid::models::wan_dit {

TimestepGroups group_timesteps(const at::Tensor& timestep, int64_t batch,
                               const std::array<int64_t, 3>& grid, c10::Device device) {
  const int64_t frames = grid[0], per_frame = grid[1] * grid[2], length = frames * per_frame;
  const at::Tensor t = timestep.to(device, at::kFloat);
  RAYVID_CHECK((t.dim() == 1 && t.size(0) == batch) ||
                   (t.dim() == 2 && t.size(0) == batch && t.size(1) == length),
               BadArgument, "timestep: expected [{}] or [{}, {}] (one per token), got [{}]", batch,
               batch, length, fmt::join(t.sizes(), ", "));
  TimestepGroups g;
  [[maybe_unused]] auto [values, inverse, counts] =
      at::_unique2(t.flatten(), /*sorted=*/true,
                   /*return_inverse=*/true, /*return_counts=*/false);
  g.values = values;  // [N]
  if (t.dim() == 1) {
    g.groups = 1;
    g.index = inverse.view({batch, 1});  // [B, 1]
    return g;
  }
  const at::Tensor by_frame = inverse.view({batch, frames, per_frame});  // [B, F, HW]
  if (at::equal(by_frame, by_frame.narrow(2, 0, 1).expand_as(by_frame))) {
    g.groups = frames;
    g.index = by_frame.select(2, 0).contiguous();  // [B, F]
  } else {
    g.groups = length;
    g.index = inverse.view({batch, length});  // [B, L]
  }
  return g;
}

at::Tensor rows_for_groups(const at::Tensor& rows, const TimestepGroups& groups) {
  const int64_t batch = groups.index.size(0);
  return rows.index_select(0, groups.index.flatten())
      .view({batch, groups.groups, rows.size(-1)});  // [B, G, C]
}

}  // namespace rayvid::models::wan_dit
