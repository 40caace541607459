// ImageEncoder: see image_encoder.h.
#include "models/clip/image_encoder.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/check.h"
#include "core/device.h"
#include "io/safetensors.h"
#include "models/clip/preprocess.h"

namespace rayvid::models::clip {

CLIPVisionEncoder build_clip_vision_encoder(const CLIPVisionConfig& config,
                                            const WeightSource& source, c10::Device device,
                                            c10::ScalarType dtype,
                                            std::map<std::string, std::vector<int64_t>>* taken) {
  RAYVID_CHECK(dtype == at::kFloat || dtype == at::kBFloat16, Unsupported,
               "the CLIP image encoder runs in fp32 or bf16, not {}", c10::toString(dtype));
  WeightLoader loader(source, device, dtype);
  auto weights = CLIPVisionWeights::load(loader, config);
  loader.finish();
  if (taken) *taken = loader.taken();
  return CLIPVisionEncoder(config, std::move(weights));
}

ImageEncoder::ImageEncoder(CLIPImageProcessorConfig processor,
                           std::unique_ptr<CLIPVisionEncoder> encoder)
    : processor_(std::move(processor)), encoder_(std::move(encoder)) {}

ImageEncoder ImageEncoder::load(const std::filesystem::path& image_encoder_dir,
                                const std::filesystem::path& image_processor_dir,
                                c10::Device device, c10::ScalarType dtype) {
  c10::InferenceMode guard(inference_mode_on(device));
  auto config = CLIPVisionConfig::load(image_encoder_dir);
  auto processor = CLIPImageProcessorConfig::load(image_processor_dir);
  const int64_t out_h = processor.do_center_crop ? processor.crop_height : processor.resize_height;
  const int64_t out_w = processor.do_center_crop ? processor.crop_width : processor.resize_width;
  RAYVID_CHECK(out_h == config.image_size && out_w == config.image_size, BadInput,
               "{}: the image processor makes {}x{} images but the encoder expects {}x{}; the "
               "image_processor/ and image_encoder/ folders do not belong together",
               image_processor_dir.string(), out_w, out_h, config.image_size, config.image_size);
  StoreSource source(io::WeightStore::open_folder(image_encoder_dir), image_encoder_dir.string());
  auto encoder =
      std::make_unique<CLIPVisionEncoder>(build_clip_vision_encoder(config, source, device, dtype));
  return ImageEncoder(std::move(processor), std::move(encoder));
}

ImageEncoder ImageEncoder::assemble(CLIPImageProcessorConfig processor,
                                    const CLIPVisionConfig& config, const WeightSource& source,
                                    c10::Device device, c10::ScalarType dtype) {
  c10::InferenceMode guard(inference_mode_on(device));
  auto encoder =
      std::make_unique<CLIPVisionEncoder>(build_clip_vision_encoder(config, source, device, dtype));
  return ImageEncoder(std::move(processor), std::move(encoder));
}

ImageEncoder ImageEncoder::load_from_model_folder(const std::filesystem::path& model_folder,
                                                  c10::Device device, c10::ScalarType dtype) {
  return load(model_folder / "image_encoder", model_folder / "image_processor", device, dtype);
}

at::Tensor ImageEncoder::preprocess(const io::Image& image) const {
  return preprocess_image(image, processor_);
}

at::Tensor ImageEncoder::encode(const io::Image& image) const {
  return encode_pixels(preprocess(image));
}

at::Tensor ImageEncoder::encode(const std::vector<io::Image>& images) const {
  RAYVID_CHECK(!images.empty(), BadArgument, "no images to encode");
  std::vector<at::Tensor> pixels;
  for (const auto& image : images) pixels.push_back(preprocess(image));  // each [1, 3, S, S]
  return encode_pixels(at::cat(pixels, 0));                              // [B, 3, S, S]
}

at::Tensor ImageEncoder::encode_pixels(const at::Tensor& pixel_values) const {
  c10::InferenceMode guard(inference_mode_on(encoder_->device()));
  return encoder_->penultimate_hidden_state(pixel_values);  // [B, N+1, D]
}

}  // namespace rayvid::models::clip
