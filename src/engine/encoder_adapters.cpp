// Binds the umT5 text encoder and the CLIP image encoder (src/models) to the pipeline's
// TextEncoder / ImageEncoder interfaces.
#include "engine/component_factory.h"
#include "models/clip/image_encoder.h"
#include "models/clip/single_file.h"
#include "models/umt5/single_file.h"
#include "models/umt5/text_encoder.h"

namespace rayvid::engine {
namespace {

class UMT5TextEncoder : public pipeline::TextEncoder {
 public:
  explicit UMT5TextEncoder(models::umt5::TextEncoder encoder) : encoder_(std::move(encoder)) {}
  at::Tensor encode(const std::vector<std::string>& prompts, int max_sequence_length) override {
    return encoder_.encode(prompts, max_sequence_length);  // [B, L, d_model], zero-padded
  }

 private:
  models::umt5::TextEncoder encoder_;
};

class CLIPImageEncoder : public pipeline::ImageEncoder {
 public:
  explicit CLIPImageEncoder(models::clip::ImageEncoder encoder) : encoder_(std::move(encoder)) {}
  at::Tensor encode(const io::Image& image) override { return encoder_.encode(image); }

 private:
  models::clip::ImageEncoder encoder_;
};

}  // namespace

std::unique_ptr<pipeline::TextEncoder> load_text_encoder(const models::ModelFolder& folder,
                                                         const LoadOptions& options) {
  const auto& text = folder.require("text_encoder");
  const auto& tokenizer = folder.require("tokenizer");
  if (text.file.empty())
    return std::make_unique<UMT5TextEncoder>(
        models::umt5::TextEncoder::load(text.dir, tokenizer.dir, options.device, options.dtype));
  // A single umT5 file; its tokenizer is a folder or the SentencePiece model the file embeds.
  const auto file = models::umt5::open_umt5_file(text.file);
  auto tok = tokenizer.file.empty() ? models::umt5::Tokenizer::load(tokenizer.dir)
                                    : models::umt5::embedded_tokenizer(file);
  return std::make_unique<UMT5TextEncoder>(models::umt5::TextEncoder::assemble(
      std::move(tok), file.config, file.source, options.device, options.dtype));
}

std::unique_ptr<pipeline::ImageEncoder> load_image_encoder(const models::ModelFolder& folder,
                                                           const LoadOptions& options) {
  const auto& image = folder.require("image_encoder");
  if (image.file.empty())
    return std::make_unique<CLIPImageEncoder>(models::clip::ImageEncoder::load(
        image.dir, folder.require("image_processor").dir, options.device, options.dtype));
  // A CLIP file (clip_vision_h): the folder's image_processor/ when there is one, else Wan's.
  const auto file = models::clip::open_clip_file(image.file);
  const auto* processor = folder.find("image_processor");
  return std::make_unique<CLIPImageEncoder>(models::clip::ImageEncoder::assemble(
      processor ? models::clip::CLIPImageProcessorConfig::load(processor->dir)
                : models::clip::wan_clip_processor(file.config),
      file.config, file.source, options.device, options.dtype));
}

}  // namespace rayvid::engine
