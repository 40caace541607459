#include "serve/server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>

#include "core/check.h"
#include "io/temp_files.h"
#include "serve/http_api.h"
#include "serve/job_runner.h"
#include "serve/media_store.h"

namespace rayvid::serve {
namespace {
namespace fs = std::filesystem;

constexpr const char* kRouteChars = "abcdefghijklmnopqrstuvwxyz0123456789._-";

// A route name for an unnamed model: its variant ("wan2.2-ti2v-5b") when that is a plain name,
// else the folder's name in lowercase ("custom (...)" variants: "rayvid-tiny-ti2v").
std::string route_name(const std::string& variant, const std::string& dir) {
  if (variant.find_first_not_of(kRouteChars) == std::string::npos) return variant;
  std::string name = fs::path(dir).lexically_normal().filename().string();
  if (name.empty()) name = fs::path(dir).lexically_normal().parent_path().filename().string();
  for (char& c : name) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::string_view(kRouteChars).find(c) == std::string_view::npos) c = '-';
  }
  return name;
}

// "NAME=DIR" or "DIR" (named by route_name). A name is a URL path segment.
std::map<std::string, ServedModel> open_models(const ServeOptions& options,
                                               std::string* first_name) {
  RAYVID_CHECK(!options.models.empty(), BadArgument, "rayvid serve needs --model DIR (repeatable)");
  std::map<std::string, ServedModel> models;
  for (const std::string& spec : options.models) {
    const size_t eq = spec.find('=');
    const bool named = eq != std::string::npos && !fs::exists(spec);
    EngineOptions engine = options.engine;
    engine.model_dir = named ? spec.substr(eq + 1) : spec;
    ServedModel model;
    model.options = engine;
    model.engine = Engine::open(engine);
    model.info = model.engine->info();
    model.name = named ? spec.substr(0, eq) : route_name(model.info.variant, engine.model_dir);
    RAYVID_CHECK(
        !model.name.empty() && model.name.find_first_not_of(kRouteChars) == std::string::npos,
        BadArgument,
        "--model {}: the route name '{}' must be lowercase letters, digits, '.', '_' or "
        "'-'; name it with --model NAME=DIR",
        spec, model.name);
    RAYVID_CHECK(!models.count(model.name), BadArgument,
                 "--model {}: a second model named '{}'; name them apart with --model NAME=DIR",
                 spec, model.name);
    if (models.empty()) *first_name = model.name;
    models.emplace(model.name, std::move(model));
  }
  return models;
}

}  // namespace

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void run_server(const ServeOptions& options) {
  RAYVID_CHECK(is_loopback_host(options.host) || !options.api_key.empty(), BadArgument,
               "--host {} lets other machines in: pass --api-key KEY (or set RAYVID_API_KEY), "
               "which every client then sends as Authorization: Bearer KEY",
               options.host);
  RAYVID_CHECK(options.port >= 0 && options.port <= 65535, BadArgument,
               "--port {} is not a TCP port (0-65535; 0 picks a free one)", options.port);
  const Limits& limits = options.limits;
  RAYVID_CHECK(limits.queue_size >= 1, BadArgument, "--queue-size must be at least 1");
  RAYVID_CHECK(limits.max_body_bytes >= 1024 && limits.max_upload_bytes >= 1024 &&
                   limits.max_prompt_bytes >= 1 && limits.max_image_pixels >= 1 &&
                   limits.sync_timeout_seconds > 0,
               BadArgument, "the --max-* limits and --sync-timeout must be positive");

  const fs::path data = options.data_dir;
  std::error_code ec;
  fs::create_directories(data, ec);
  RAYVID_CHECK(!ec, BadArgument, "--data-dir {}: {}", data.string(), ec.message());
  io::install_temp_file_cleanup();

  std::string default_model;
  auto models = open_models(options, &default_model);
  JobStore store(data / "jobs.sqlite");
  MediaStore media(data / "uploads", store, limits);
  auto resolve = [&media](const std::string& field, const std::string& value) {
    return media.resolve_image(field, value, {});
  };
  if (!options.lora_dir.empty())
    RAYVID_CHECK(fs::is_directory(options.lora_dir), BadInput,
                 "--lora-dir {}: not a folder; pass the folder that holds the LoRA files",
                 options.lora_dir);
  JobRunner runner(store, std::move(models), data / "outputs", limits, resolve, options.lora_dir);
  const auto [requeued, failed] = runner.recover();
  if (requeued + failed > 0)
    spdlog::info("serve: {} job(s) from before the restart queued again, {} failed", requeued,
                 failed);

  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(32); };
  server.set_payload_max_length(static_cast<size_t>(limits.max_body_bytes));
  const int port = options.port == 0
                       ? server.bind_to_any_port(options.host)
                       : (server.bind_to_port(options.host, options.port) ? options.port : -1);
  RAYVID_CHECK(port > 0, BadArgument,
               "cannot listen on {}:{} (in use, or not an address of this machine); pick another "
               "--port or --host",
               options.host, options.port);
  ApiContext context{runner,
                     media,
                     limits,
                     options.api_key,
                     {fmt::format("127.0.0.1:{}", port), fmt::format("localhost:{}", port),
                      fmt::format("[::1]:{}", port), fmt::format("{}:{}", options.host, port)},
                     default_model};
  install_routes(server, context, options.web_dir);
  runner.start();

  std::string names;
  for (const auto& [name, m] : runner.model_infos()) names += (names.empty() ? "" : ", ") + name;
  const std::string url = options.host.find(':') == std::string::npos
                              ? fmt::format("http://{}:{}", options.host, port)
                              : fmt::format("http://[{}]:{}", options.host, port);
  std::printf("rayvid serve: %s\n", url.c_str());
  std::fflush(stdout);
  spdlog::info("serve: {} ({}), data in {}, queue of {}{}", url, names, data.string(),
               limits.queue_size, options.api_key.empty() ? "" : ", API key required");
  server.listen_after_bind();
}

}  // namespace rayvid::serve
