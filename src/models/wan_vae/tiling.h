// Spatial tiling with overlap and linear blending, computed exactly as diffusers'
// AutoencoderKLWan.tiled_decode / tiled_encode (blend_v, then blend_h, each tile against its
// already blended upper and left neighbours; keep the top-left stride x stride of each tile).
//
// Unlike the reference, tiles are streamed: only the blend strips of the previous tile row and
// of the left tile are kept, not every decoded tile, so memory is one tile's work plus the output.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>

namespace rayvid::models::wan_vae {

enum class Tiling {
  kAuto,  // tile only when the memory model says the untiled pass would not fit the budget
  kOff,   // never tile: output equals the reference's untiled output
  kOn,    // tile (when the input is larger than one tile), as diffusers' enable_tiling()
};

// Spatial tiling settings, in output pixels (the units of diffusers' tile_sample_* settings).
// Tile sizes and strides must be multiples of the VAE's spatial factor (8 or 16).
struct TileOptions {
  Tiling tiling = Tiling::kAuto;
  int64_t tile_height = 0;  // 0: diffusers' 256 (kOn), or picked from the budget (kAuto)
  int64_t tile_width = 0;
  int64_t overlap_height = 0;  // 0: a quarter of the tile (diffusers: 256 - 192 = 64)
  int64_t overlap_width = 0;
  uint64_t memory_budget_bytes = 0;  // kAuto: 0 = 80% of the device's available memory
};
using DecodeOptions = TileOptions;
using EncodeOptions = TileOptions;

// The tile settings a call resolves to (for logs and tests).
struct TilePlan {
  bool tiled = false;
  int64_t tile_height = 0, tile_width = 0;      // output pixels
  int64_t stride_height = 0, stride_width = 0;  // tile - overlap
};

// One spatial axis of a tiling, in input units (latent pixels for decode, patchified pixels for
// encode) and output units (patchified pixels for decode, latent pixels for encode).
struct TileAxis {
  int64_t in_tile = 0;     // tile size read from the input
  int64_t in_stride = 0;   // distance between tile starts in the input
  int64_t out_stride = 0;  // rows/columns of each tile that are kept in the output
  int64_t blend = 0;       // blend extent in the output (tile - stride in output units)
  int64_t out_size = 0;    // output size along this axis (the result is cropped to it)
};

// Number of tiles along an axis of `in_size` (Python range(0, in_size, in_stride)).
int64_t num_tiles(int64_t in_size, int64_t in_stride);

// Runs `fn` on every tile of `input` ([..., H, W], tiles over the last two dims) and assembles
// the blended result [..., rows.out_size, cols.out_size]. `fn` maps an input tile to an output
// tile whose last two dims scale with the input tile.
at::Tensor run_tiled(const at::Tensor& input, const TileAxis& rows, const TileAxis& cols,
                     const std::function<at::Tensor(const at::Tensor&)>& fn);

// diffusers blend_v / blend_h, in place on `b`, with `a` holding (at least) the last rows/columns
// of the neighbouring tile: b[y] = a[-e + y] * (1 - y/e) + b[y] * (y/e), e = min(a, b, extent).
void blend_rows(const at::Tensor& a, at::Tensor& b, int64_t extent);
void blend_cols(const at::Tensor& a, at::Tensor& b, int64_t extent);

}  // namespace rayvid::models::wan_vae
