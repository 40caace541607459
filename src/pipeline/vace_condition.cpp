#include "pipeline/vace_condition.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/check.h"
#include "pipeline/pixels.h"

namespace rayvid::pipeline {
namespace {

// diffusers' gray keyframe filler: PIL (128, 128, 128) -> 128 / 255 * 2 - 1.
constexpr double kGray = 128.0 / 127.5 - 1.0;

// A reference image fitted inside H x W (bilinear, no antialias: F.interpolate) and centred on a
// white canvas, [1, 3, 1, H, W] (WanVACEPipeline.preprocess_conditions).
at::Tensor fitted_reference(const io::Image& image, int64_t height, int64_t width,
                            c10::Device device) {
  at::Tensor ref = image_to_tensor(image, device);  // [1, 3, h, w]
  // diffusers first resizes to the image's own size floored to a multiple of 8 (PIL Lanczos);
  // bilinear stands in for that step, which is a no-op for sizes already multiples of 8.
  const int64_t h8 = ref.size(2) / 8 * 8, w8 = ref.size(3) / 8 * 8;
  RAYVID_CHECK(h8 > 0 && w8 > 0, BadArgument,
               "a reference image of {}x{} is too small; give one at least 8x8", ref.size(3),
               ref.size(2));
  if (h8 != ref.size(2) || w8 != ref.size(3))
    ref = at::upsample_bilinear2d(ref, {h8, w8}, /*align_corners=*/false);
  const double scale = std::min(static_cast<double>(height) / static_cast<double>(h8),
                                static_cast<double>(width) / static_cast<double>(w8));
  const auto new_h = static_cast<int64_t>(static_cast<double>(h8) * scale);
  const auto new_w = static_cast<int64_t>(static_cast<double>(w8) * scale);
  ref = at::upsample_bilinear2d(ref, {new_h, new_w}, /*align_corners=*/false);
  at::Tensor canvas = at::ones({1, 3, height, width}, ref.options());
  const int64_t top = (height - new_h) / 2, left = (width - new_w) / 2;
  canvas.narrow(2, top, new_h).narrow(3, left, new_w).copy_(ref);
  return canvas.unsqueeze(2);
}

// The mask at latent resolution: 8x8 pixel blocks unshuffled into 64 channels, time resampled
// nearest-exact to the latent frames (prepare_masks). mask: [F, H, W] -> [64, T, H/8, W/8].
at::Tensor latent_mask(const at::Tensor& mask, int64_t latent_frames) {
  const int64_t frames = mask.size(0), h = mask.size(1) / 8, w = mask.size(2) / 8;
  const at::Tensor blocks =
      mask.view({frames, h, 8, w, 8}).permute({2, 4, 0, 1, 3}).reshape({1, 64, frames, h, w});
  return at::_upsample_nearest_exact3d(blocks, {latent_frames, h, w}).squeeze(0);
}

}  // namespace

VaceCondition vace_condition(VideoAutoencoder& vae, const VaceInputs& in, const VideoShape& shape,
                             c10::Device device) {
  const int64_t frames = shape.frames, height = shape.height, width = shape.width;
  RAYVID_CHECK(height % 16 == 0 && width % 16 == 0, BadArgument,
               "VACE needs a width and height that are multiples of 16, got {}x{}", width, height);
  const auto options = at::TensorOptions().dtype(at::kFloat).device(device);
  // The video and the mask (1 = generate, 0 = keep) as diffusers preprocesses them.
  at::Tensor video;
  if (in.control_video) {
    video = frames_to_tensor(*in.control_video, static_cast<int>(frames), device);
  } else if (!in.keyframes.empty()) {
    video = at::full({1, 3, frames, height, width}, kGray, options);
  } else {
    video = at::zeros({1, 3, frames, height, width}, options);  // no video: gray 0
  }
  at::Tensor mask = at::ones({frames, height, width}, options);
  for (const auto& [index, image] : in.keyframes) {
    RAYVID_CHECK(index >= 0 && index < frames, BadArgument,
                 "keyframe {} is outside the video's {} frames (0..{})", index, frames, frames - 1);
    video.select(2, index).copy_(image_to_tensor(image, device)[0]);
    mask.select(0, index).zero_();
  }
  // Inactive (kept) and reactive (generated) parts with the binarised mask, each VAE-encoded.
  const at::Tensor keep_out = mask.gt(0.5).to(at::kFloat).unsqueeze(0).unsqueeze(0);  // [1,1,F,H,W]
  const at::Tensor inactive = vae.normalize(vae.encode(video * (1 - keep_out)));
  const at::Tensor reactive = vae.normalize(vae.encode(video * keep_out));
  at::Tensor latents = at::cat({inactive, reactive}, 1);  // [1, 32, T, h, w]
  const int64_t latent_frames = latents.size(2);
  // Reference images: one latent frame each (reactive half zero), prepended in turn.
  for (const io::Image& image : in.references) {
    const at::Tensor z = vae.normalize(vae.encode(fitted_reference(image, height, width, device)));
    latents = at::cat({at::cat({z, at::zeros_like(z)}, 1), latents}, 2);
  }
  const auto n_ref = static_cast<int64_t>(in.references.size());
  at::Tensor masks = latent_mask(mask, latent_frames);  // [64, T, h, w]
  if (n_ref > 0)
    masks =
        at::cat({at::zeros({64, n_ref, masks.size(2), masks.size(3)}, masks.options()), masks}, 1);
  VaceCondition out;
  out.control = at::cat({latents, masks.unsqueeze(0).to(latents.dtype())}, 1);
  out.reference_frames = n_ref;
  return out;
}

}  // namespace rayvid::pipeline
