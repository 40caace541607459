// CLIP preprocessing: see preprocess.h. The resampling mirrors Pillow's libImaging/Resample.c.
#include "models/clip/preprocess.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace rayvid::models::clip {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS for 8-bit images

double bicubic_filter(double x) {  // Pillow: a = -0.5
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double bilinear_filter(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// One output sample's window [xmin, xmin + count) and its fixed-point weights.
struct Coefficients {
  int ksize = 0;
  std::vector<int> xmin, count;
  std::vector<int32_t> weights;  // [out_size, ksize]
};

// Pillow precompute_coeffs + normalize_coeffs_8bpc.
Coefficients precompute(int in_size, int out_size, Resample resample) {
  const double support_base = resample == Resample::kBicubic ? 2.0 : 1.0;
  auto filter = resample == Resample::kBicubic ? bicubic_filter : bilinear_filter;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = support_base * filterscale;
  Coefficients c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.xmin.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
    double ww = 0.0;
    std::fill(k.begin(), k.end(), 0.0);
    for (int x = 0; x < xmax; ++x) {
      k[x] = filter((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      if (ww != 0.0) k[x] /= ww;
    }
    for (int x = 0; x < c.ksize; ++x) {
      const double v = k[x] * (1 << kPrecisionBits);
      c.weights[static_cast<size_t>(xx) * c.ksize + x] =
          static_cast<int32_t>(v < 0 ? -0.5 + v : 0.5 + v);
    }
    c.xmin[xx] = xmin;
    c.count[xx] = xmax;
  }
  return c;
}

uint8_t clip8(int32_t v) { return static_cast<uint8_t>(std::clamp(v >> kPrecisionBits, 0, 255)); }

// One separable pass. `horizontal` resamples along x, otherwise along y.
io::Image resample_pass(const io::Image& in, int out_size, bool horizontal, Resample resample) {
  const int in_size = horizontal ? in.width : in.height;
  const auto c = precompute(in_size, out_size, resample);
  io::Image out;
  out.width = horizontal ? out_size : in.width;
  out.height = horizontal ? in.height : out_size;
  out.rgb.resize(static_cast<size_t>(out.width) * out.height * 3);
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      const int o = horizontal ? x : y;
      const int32_t* k = &c.weights[static_cast<size_t>(o) * c.ksize];
      int32_t ss[3] = {1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1),
                       1 << (kPrecisionBits - 1)};
      for (int t = 0; t < c.count[o]; ++t) {
        const int src = c.xmin[o] + t;
        for (int ch = 0; ch < 3; ++ch) {
          ss[ch] += (horizontal ? in.at(y, src, ch) : in.at(src, x, ch)) * k[t];
        }
      }
      for (int ch = 0; ch < 3; ++ch) {
        out.rgb[(static_cast<size_t>(y) * out.width + x) * 3 + ch] = clip8(ss[ch]);
      }
    }
  }
  return out;
}

}  // namespace

io::Image pil_resize(const io::Image& image, int width, int height, Resample resample) {
  RAYVID_CHECK(image.width > 0 && image.height > 0 &&
                   image.rgb.size() == static_cast<size_t>(image.width) * image.height * 3,
               BadInput, "cannot resize an empty or malformed {}x{} image", image.width,
               image.height);
  RAYVID_CHECK(width > 0 && height > 0, BadArgument, "resize target {}x{} is empty", width, height);
  // ImagingResampleInner: horizontal pass first, then vertical, each only when needed.
  io::Image out = image;
  if (width != image.width) out = resample_pass(out, width, /*horizontal=*/true, resample);
  if (height != image.height) out = resample_pass(out, height, /*horizontal=*/false, resample);
  return out;
}

std::pair<int, int> shortest_edge_size(int height, int width, int64_t shortest_edge) {
  // transformers get_resize_output_image_size(default_to_square=False): int(short * long / short)
  const int64_t short_side = std::min(height, width);
  const int64_t long_side = std::max(height, width);
  const auto new_long = static_cast<int64_t>(static_cast<double>(shortest_edge * long_side) /
                                             static_cast<double>(short_side));
  if (width <= height) return {static_cast<int>(new_long), static_cast<int>(shortest_edge)};
  return {static_cast<int>(shortest_edge), static_cast<int>(new_long)};
}

at::Tensor preprocess_image(const io::Image& image, const CLIPImageProcessorConfig& config) {
  RAYVID_CHECK(image.width > 0 && image.height > 0, BadInput, "the conditioning image is empty");
  io::Image resized = image;
  if (config.do_resize) {
    auto [h, w] = config.shortest_edge > 0
                      ? shortest_edge_size(image.height, image.width, config.shortest_edge)
                      : std::pair<int, int>{static_cast<int>(config.resize_height),
                                            static_cast<int>(config.resize_width)};
    resized = pil_resize(image, w, h, config.resample);
  }
  int top = 0, left = 0, out_h = resized.height, out_w = resized.width;
  if (config.do_center_crop) {
    RAYVID_CHECK(config.crop_height <= resized.height && config.crop_width <= resized.width,
                 Unsupported,
                 "centre crop {}x{} is larger than the resized image {}x{}; padding is not "
                 "supported",
                 config.crop_width, config.crop_height, resized.width, resized.height);
    out_h = static_cast<int>(config.crop_height);
    out_w = static_cast<int>(config.crop_width);
    top = (resized.height - out_h) / 2;
    left = (resized.width - out_w) / 2;
  }
  auto pixels = at::empty({1, 3, out_h, out_w}, at::kFloat);  // [1, 3, H, W]
  float* dst = pixels.data_ptr<float>();
  for (int ch = 0; ch < 3; ++ch) {
    // numpy: float32(float64(u8) * scale), then (x - float32(mean)) / float32(std) in float32.
    const auto mean = static_cast<float>(config.image_mean[ch]);
    const auto stdev = static_cast<float>(config.image_std[ch]);
    for (int y = 0; y < out_h; ++y) {
      for (int x = 0; x < out_w; ++x) {
        const uint8_t u = resized.at(top + y, left + x, ch);
        float v = config.do_rescale
                      ? static_cast<float>(static_cast<double>(u) * config.rescale_factor)
                      : static_cast<float>(u);
        if (config.do_normalize) v = (v - mean) / stdev;
        dst[(static_cast<size_t>(ch) * out_h + y) * out_w + x] = v;
      }
    }
  }
  return pixels;
}

}  // namespace rayvid::models::clip
