// Streamed, reference-exact spatial tiling: see tiling.h.
#include "models/wan_vae/tiling.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

#include "core/check.h"
#include "models/wan_vae/causal_conv.h"

namespace rayvid::models::wan_vae {

int64_t num_tiles(int64_t in_size, int64_t in_stride) {
  return (in_size + in_stride - 1) / in_stride;
}

void blend_rows(const at::Tensor& a, at::Tensor& b, int64_t extent) {
  const int64_t ha = a.size(-2), hb = b.size(-2);
  const int64_t e = std::min({ha, hb, extent});
  // One row at a time with Python-float weights, as the reference does, so that bf16 rounds
  // the same way (each product in the tensor's dtype).
  for (int64_t y = 0; y < e; ++y) {
    const double w = static_cast<double>(y) / static_cast<double>(e);
    at::Tensor row = b.select(-2, y);  // [..., W]
    row.copy_(a.select(-2, ha - e + y) * python_scalar(1.0 - w) + row * python_scalar(w));
  }
}

void blend_cols(const at::Tensor& a, at::Tensor& b, int64_t extent) {
  const int64_t wa = a.size(-1), wb = b.size(-1);
  const int64_t e = std::min({wa, wb, extent});
  for (int64_t x = 0; x < e; ++x) {
    const double w = static_cast<double>(x) / static_cast<double>(e);
    at::Tensor col = b.select(-1, x);  // [..., H]
    col.copy_(a.select(-1, wa - e + x) * python_scalar(1.0 - w) + col * python_scalar(w));
  }
}

at::Tensor run_tiled(const at::Tensor& input, const TileAxis& rows, const TileAxis& cols,
                     const std::function<at::Tensor(const at::Tensor&)>& fn) {
  RAYVID_CHECK(rows.in_stride > 0 && cols.in_stride > 0 && rows.in_tile >= rows.in_stride &&
                   cols.in_tile >= cols.in_stride,
               BadArgument,
               "tile {}x{} with stride {}x{}: strides must be positive and no larger "
               "than the tile",
               cols.in_tile, rows.in_tile, cols.in_stride, rows.in_stride);
  const int64_t in_h = input.size(-2), in_w = input.size(-1);
  const int64_t n_rows = num_tiles(in_h, rows.in_stride), n_cols = num_tiles(in_w, cols.in_stride);
  at::Tensor out;                         // [..., out_h, out_w], allocated after the first tile
  std::vector<at::Tensor> above(n_cols);  // last blend rows of the (final) tiles above
  for (int64_t i = 0; i < n_rows; ++i) {
    std::vector<at::Tensor> below(n_cols);
    at::Tensor left;  // last blend columns of the (final) tile to the left
    for (int64_t j = 0; j < n_cols; ++j) {
      const at::Tensor in_tile =
          input.slice(-2, i * rows.in_stride, i * rows.in_stride + rows.in_tile)
              .slice(-1, j * cols.in_stride, j * cols.in_stride + cols.in_tile);
      at::Tensor tile = fn(in_tile).contiguous();  // [..., th, tw]
      if (!out.defined()) {
        auto shape = tile.sizes().vec();
        shape[shape.size() - 2] = rows.out_size;
        shape[shape.size() - 1] = cols.out_size;
        out = at::empty(shape, tile.options());
      }
      if (i > 0) blend_rows(above[j], tile, rows.blend);
      if (j > 0) blend_cols(left, tile, cols.blend);
      const int64_t th = tile.size(-2), tw = tile.size(-1);
      below[j] = tile.slice(-2, th - std::min(rows.blend, th)).clone();
      left = tile.slice(-1, tw - std::min(cols.blend, tw)).clone();
      // keep the top-left stride x stride (cropped at the output's edge)
      const int64_t r0 = i * rows.out_stride, c0 = j * cols.out_stride;
      const int64_t kh = std::min({rows.out_stride, th, rows.out_size - r0});
      const int64_t kw = std::min({cols.out_stride, tw, cols.out_size - c0});
      if (kh > 0 && kw > 0) {
        out.slice(-2, r0, r0 + kh)
            .slice(-1, c0, c0 + kw)
            .copy_(tile.slice(-2, 0, kh).slice(-1, 0, kw));
      }
    }
    above = std::move(below);
  }
  return out;
}

}  // namespace rayvid::models::wan_vae
