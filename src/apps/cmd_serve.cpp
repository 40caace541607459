// `rayvid serve`: the hosted Ray API's protocol over the local engine (serve/server.h).
#include <cstdlib>

#include "apps/commands.h"
#include "rayvid/rayvid.h"
#include "serve/server.h"

namespace rayvid::apps {

void add_serve(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "serve", "Serve the engine over HTTP with the hosted Ray API's protocol, and a web page");
  auto options = std::make_shared<serve::ServeOptions>();
  auto loras = std::make_shared<std::vector<std::string>>();
  auto upload_mb = std::make_shared<double>(32), body_mb = std::make_shared<double>(64);
  auto& o = *options;
  sub->add_option("--model,-m", o.models,
                  "A Wan diffusers folder to serve, as DIR or NAME=DIR (routes "
                  "rayvid/NAME/text-to-video and /image-to-video; NAME defaults to the variant); "
                  "repeatable (default: the bundled demo model)");
  sub->add_option("--host", o.host, "Address to listen on; anything but loopback needs --api-key")
      ->capture_default_str();
  sub->add_option("--port", o.port, "TCP port (0: any free one, printed on stdout)")
      ->capture_default_str();
  sub->add_option("--api-key", o.api_key,
                  "Key every API call must send as Authorization: Bearer KEY (default: "
                  "$RAYVID_API_KEY; none on loopback)");
  sub->add_option("--data-dir", o.data_dir, "Jobs database, uploads and outputs")
      ->capture_default_str();
  sub->add_option("--queue-size", o.limits.queue_size,
                  "Jobs that may wait; more get HTTP 429 with Retry-After")
      ->capture_default_str();
  sub->add_option("--max-body-mb", *body_mb, "Largest JSON body (data: URIs included)")
      ->capture_default_str();
  sub->add_option("--max-upload-mb", *upload_mb, "Largest uploaded image")->capture_default_str();
  sub->add_option("--max-image-pixels", o.limits.max_image_pixels,
                  "Largest image (width x height, read from its header before decoding)")
      ->capture_default_str();
  sub->add_option("--max-prompt-bytes", o.limits.max_prompt_bytes, "Longest prompt (UTF-8 bytes)")
      ->capture_default_str();
  sub->add_option("--sync-timeout", o.limits.sync_timeout_seconds,
                  "Longest wait of an enable_sync_mode request, seconds")
      ->capture_default_str();
  sub->add_option("--device", o.engine.device, "auto, cpu or cuda")->capture_default_str();
  sub->add_option("--dtype", o.engine.dtype, "fp32, bf16 or fp16 (default: bf16 on CUDA)");
  sub->add_option("--kernels", o.engine.kernels, "auto, rayvid, aten, emu or reference")
      ->capture_default_str();
  sub->add_option("--lora", *loras, "LoRA FILE[:STRENGTH] merged into every served model");
  sub->add_option("--lora-dir", o.lora_dir,
                  "A folder of LoRA files that requests may name in their `loras` field "
                  "([{\"path\": NAME, \"scale\": S}]); a job with other LoRAs than the last one "
                  "reloads the weights");
  sub->add_flag("--lora-allow-unmatched", o.engine.lora_allow_unmatched,
                "Load a LoRA even if some of its keys match nothing in a model");
  sub->add_option("--web-dir", o.web_dir, "The web page's folder (default: the built-in page)");
  sub->callback([=]() {
    auto& opts = *options;
    if (opts.models.empty()) {
      const char* env = std::getenv("RAYVID_MODEL");
      opts.models.push_back(env != nullptr && *env != '\0' ? env : RAYVID_DEFAULT_MODEL);
    }
    if (opts.api_key.empty())
      if (const char* env = std::getenv("RAYVID_API_KEY")) opts.api_key = env;
    if (opts.web_dir.empty()) opts.web_dir = RAYVID_WEB_DIR;
    opts.limits.max_body_bytes = static_cast<int64_t>(*body_mb * (1 << 20));
    opts.limits.max_upload_bytes = static_cast<int64_t>(*upload_mb * (1 << 20));
    for (const auto& l : *loras) opts.engine.loras.push_back(parse_lora_option(l));
    serve::run_server(opts);
  });
}

}  // namespace rayvid::apps
