// The image-encoder front end of the Wan I2V pipelines (WanImageToVideoPipeline.encode_image):
// CLIPImageProcessor preprocessing, then CLIP's penultimate hidden state [B, 257, 1280]
// (ViT-H/14). The conditioning image is the user's image as given, before any video resizing.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/image.h"
#include "models/clip/config.h"
#include "models/clip/vision_encoder.h"

namespace rayvid::models::clip {

class ImageEncoder {
 public:
  // `image_encoder_dir`: config.json + safetensors; `image_processor_dir`:
  // preprocessor_config.json.
  static ImageEncoder load(const std::filesystem::path& image_encoder_dir,
                           const std::filesystem::path& image_processor_dir, c10::Device device,
                           c10::ScalarType dtype);
  // From any source (a single file: clip/single_file.h) with its config and preprocessing.
  static ImageEncoder assemble(CLIPImageProcessorConfig processor, const CLIPVisionConfig& config,
                               const WeightSource& source, c10::Device device,
                               c10::ScalarType dtype);
  static ImageEncoder load_from_model_folder(const std::filesystem::path& model_folder,
                                             c10::Device device, c10::ScalarType dtype);

  // Image features [len(images), num_positions, hidden_size] in the encoder dtype.
  at::Tensor encode(const io::Image& image) const;
  at::Tensor encode(const std::vector<io::Image>& images) const;
  // From preprocessed pixel_values [B, 3, S, S].
  at::Tensor encode_pixels(const at::Tensor& pixel_values) const;
  // Preprocessing alone: [1, 3, S, S] float32.
  at::Tensor preprocess(const io::Image& image) const;

  const CLIPVisionEncoder& encoder() const { return *encoder_; }
  const CLIPImageProcessorConfig& processor() const { return processor_; }

 private:
  ImageEncoder(CLIPImageProcessorConfig processor, std::unique_ptr<CLIPVisionEncoder> encoder);
  CLIPImageProcessorConfig processor_;
  std::unique_ptr<CLIPVisionEncoder> encoder_;
};

// Builds the tower (weights strictly checked) from any source; `taken` receives every name and
// shape the config requires (architecture tests with ShapeOnlySource).
CLIPVisionEncoder build_clip_vision_encoder(
    const CLIPVisionConfig& config, const WeightSource& source, c10::Device device,
    c10::ScalarType dtype, std::map<std::string, std::vector<int64_t>>* taken = nullptr);

}  // namespace rayvid::models::clip
