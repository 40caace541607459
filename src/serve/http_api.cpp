#include "serve/http_api.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>

#include "serve/api_error.h"
#include "serve/random_id.h"

namespace rayvid::serve {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_data(httplib::Response& res, const json& data) {
  send_json(res, 200, {{"code", 200}, {"message", "success"}, {"data", data}});
}

void send_error(httplib::Response& res, const ApiError& e) {
  send_json(res, e.status(),
            {{"code", e.status()},
             {"message", e.what()},
             {"field", e.field().empty() ? json(nullptr) : json(e.field())},
             {"data", nullptr}});
}

// Runs a handler, turning ApiError (and an engine Error from a dry run) into its JSON reply.
template <typename F>
void guarded(httplib::Response& res, F&& handler) {
  try {
    handler();
  } catch (const ApiError& e) {
    send_error(res, e);
    if (e.status() == 429) res.set_header("Retry-After", "5");
  } catch (const Error& e) {
    // The engine refused the request (bad value, unsupported by this model, would not fit).
    send_error(res,
               ApiError(400, "", fmt::format("{}: {}", category_name(e.category()), e.what())));
  }
}

json parse_body(const httplib::Request& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded())
    throw ApiError(400, "",
                   "the request body is not valid JSON; send Content-Type: application/json");
  return body;
}

std::string base_url(const httplib::Request& req) {
  return "http://" + req.get_header_value("Host");
}

std::string iso_time(double unix_seconds) {
  if (unix_seconds <= 0) return "";
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A job as the hosted API's prediction object, plus rayvid's input and progress.
json prediction(const Job& job, const std::string& base) {
  json outputs = json::array();
  if (job.status == JobStatus::kCompleted) outputs.push_back(base + "/outputs/" + job.output);
  json data = {{"id", job.id},
               {"model", job.model},
               {"status", status_name(job.status)},
               {"outputs", outputs},
               {"urls", {{"get", base + "/api/v3/predictions/" + job.id + "/result"}}},
               {"has_nsfw_contents", json::array()},
               {"created_at", iso_time(job.created_at)},
               {"error", job.error},
               {"input", job.input},
               {"progress", job.progress},
               {"attempts", job.attempts}};
  if (job.finished_at > 0 && job.started_at > 0)
    data["executionTime"] = std::llround((job.finished_at - job.started_at) * 1000);
  if (job.status == JobStatus::kCompleted) data["sidecar"] = base + "/outputs/" + job.id + ".json";
  return data;
}

// Streams a file with a content provider (httplib answers Range requests, which <video> sends).
void send_file(httplib::Response& res, const fs::path& path, const std::string& type) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) throw ApiError(404, "", "no such file");
  auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
  res.set_content_provider(size, type,
                           [file](size_t offset, size_t length, httplib::DataSink& sink) {
                             std::vector<char> buf(std::min<size_t>(length, 1 << 16));
                             file->seekg(static_cast<std::streamoff>(offset));
                             file->read(buf.data(), static_cast<std::streamsize>(buf.size()));
                             const auto got = file->gcount();
                             if (got <= 0) return false;
                             sink.write(buf.data(), static_cast<size_t>(got));
                             return true;
                           });
}

}  // namespace

void install_routes(httplib::Server& server, ApiContext& ctx, const std::string& web_dir) {
  // The key guards the API; output, upload and event URLs carry an unguessable id instead (a
  // <video> or EventSource cannot send a header).
  server.set_pre_routing_handler([&ctx](const httplib::Request& req, httplib::Response& res) {
    if (ctx.api_key.empty() || req.path.rfind("/api/", 0) != 0)
      return httplib::Server::HandlerResponse::Unhandled;
    if (req.path.size() > 7 && req.path.compare(req.path.size() - 7, 7, "/events") == 0)
      return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + ctx.api_key)
      return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, ApiError(401, "",
                             "missing or wrong API key: send Authorization: Bearer <key> "
                             "(the key rayvid serve was started with)"));
    return httplib::Server::HandlerResponse::Handled;
  });
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                  std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("serve: internal error: {}", what);
    send_json(res, 500, {{"code", 500}, {"message", "internal error: " + what}, {"data", nullptr}});
  });

  // What httplib answers itself (413 over --max-body-mb, 404 for no route) gets a JSON body too.
  server.set_error_handler([&ctx](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string message =
        res.status == 413 ? fmt::format(
                                "the body is over the server's limit of {} bytes "
                                "(--max-body-mb); upload images instead of inlining them",
                                ctx.limits.max_body_bytes)
        : res.status == 404 ? "no such path: " + req.path + " (the API is under /api/v3/)"
                            : fmt::format("HTTP {}", res.status);
    send_json(res, res.status, {{"code", res.status}, {"message", message}, {"data", nullptr}});
  });

  server.Get("/api/v3/models", [&ctx](const httplib::Request&, httplib::Response& res) {
    json models = json::array();
    for (const auto& [name, info] : ctx.runner.model_infos()) {
      std::vector<Task> tasks;
      if (!info.requires_image) tasks.push_back(Task::kTextToVideo);
      if (info.accepts_image) tasks.push_back(Task::kImageToVideo);
      for (Task t : tasks) {
        models.push_back({{"model_id", route_of(name, t)},
                          {"name", name},
                          {"type", task_name(t)},
                          {"variant", info.variant},
                          {"family", info.family}});
        if (name == ctx.default_model)
          models.push_back({{"model_id", std::string(kHostedModel) + "/" + task_name(t)},
                            {"name", name},
                            {"type", task_name(t)},
                            {"variant", info.variant},
                            {"family", info.family},
                            {"alias_of", route_of(name, t)}});
      }
    }
    send_data(res, models);
  });

  server.Post("/api/v3/media/uploads", [&ctx](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] {
      const Upload upload = ctx.media.create_ticket(parse_body(req));
      const std::string base = base_url(req);
      send_data(res, {{"id", upload.id},
                      {"upload",
                       {{"method", "PUT"},
                        {"url", base + "/api/v3/media/uploads/" + upload.id},
                        {"headers", {{"Content-Type", upload.content_type}}}}},
                      {"download_url", base + MediaStore::url_path(upload)}});
    });
  });
  server.Put(R"(/api/v3/media/uploads/([0-9a-f]+))",
             [&ctx](const httplib::Request& req, httplib::Response& res) {
               guarded(res, [&] {
                 ctx.media.receive(req.matches[1], req.body);
                 send_data(res, {{"id", std::string(req.matches[1])}});
               });
             });
  server.Get(R"(/media/([0-9a-f]{32})/([A-Za-z0-9._-]+))",
             [&ctx](const httplib::Request& req, httplib::Response& res) {
               guarded(res, [&] {
                 const auto file = ctx.media.find(req.matches[1], req.matches[2]);
                 if (!file) throw ApiError(404, "", "no such upload");
                 send_file(res, *file, "application/octet-stream");
               });
             });

  server.Get(R"(/api/v3/predictions)", [&ctx](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] {
      int limit = 50;
      if (req.has_param("limit")) {
        try {
          limit = std::clamp(std::stoi(req.get_param_value("limit")), 1, 1000);
        } catch (const std::exception&) {
          bad_field("limit", "expected an integer 1..1000");
        }
      }
      json items = json::array();
      for (const Job& job : ctx.runner.recent(limit))
        items.push_back(prediction(job, base_url(req)));
      send_data(res, {{"items", items}, {"queued", ctx.runner.queued()}});
    });
  });
  auto result = [&ctx](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] {
      const auto job = ctx.runner.get(req.matches[1]);
      if (!job) throw ApiError(404, "", "no such prediction");
      send_data(res, prediction(*job, base_url(req)));
    });
  };
  server.Get(R"(/api/v3/predictions/([0-9a-f]{32})/result)", result);
  server.Get(R"(/api/v3/predictions/([0-9a-f]{32}))", result);
  server.Post(R"(/api/v3/predictions/([0-9a-f]{32})/cancel)", [&ctx](const httplib::Request& req,
                                                                     httplib::Response& res) {
    guarded(res, [&] {
      const std::string id = req.matches[1];
      const auto job = ctx.runner.get(id);
      if (!job) throw ApiError(404, "", "no such prediction");
      if (!ctx.runner.cancel(id))
        throw ApiError(409, "",
                       fmt::format("the prediction is already {}", status_name(job->status)));
      send_data(res, prediction(*ctx.runner.get(id), base_url(req)));
    });
  });
  // Server-Sent Events: the prediction object on every change until it is final.
  server.Get(R"(/api/v3/predictions/([0-9a-f]{32})/events)",
             [&ctx](const httplib::Request& req, httplib::Response& res) {
               const std::string id = req.matches[1];
               if (!ctx.runner.get(id)) {
                 send_error(res, ApiError(404, "", "no such prediction"));
                 return;
               }
               const std::string base = base_url(req);
               auto seen = std::make_shared<uint64_t>(ctx.runner.version() - 1);
               res.set_header("Cache-Control", "no-cache");
               res.set_chunked_content_provider(
                   "text/event-stream", [&ctx, id, base, seen](size_t, httplib::DataSink& sink) {
                     *seen = ctx.runner.wait_for_change(*seen, 15.0);
                     const auto job = ctx.runner.get(id);
                     if (!job) return false;
                     const std::string event = "data: " + prediction(*job, base).dump() + "\n\n";
                     if (!sink.write(event.data(), event.size())) return false;
                     if (is_final(job->status)) sink.done();
                     return true;
                   });
             });

  // Submit: POST /api/v3/rayvid/<name>/<task>.
  server.Post(R"(/api/v3/(.+))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] {
      const std::string route = req.matches[1];
      const size_t slash = route.rfind('/');
      const std::string task_text = slash == std::string::npos ? "" : route.substr(slash + 1);
      const std::string prefix = slash == std::string::npos ? "" : route.substr(0, slash);
      const std::string name = prefix == kHostedModel ? ctx.default_model
                               : route.rfind("rayvid/", 0) == 0 && slash > 7
                                   ? route.substr(7, slash - 7)
                                   : std::string();
      const auto infos = ctx.runner.model_infos();
      const auto model = infos.find(name);
      if (model == infos.end() || (task_text != "text-to-video" && task_text != "image-to-video"))
        throw ApiError(404, "",
                       fmt::format("no model route {}; GET /api/v3/models lists this "
                                   "server's routes",
                                   route));
      const Task task = task_text == "text-to-video" ? Task::kTextToVideo : Task::kImageToVideo;
      if ((task == Task::kTextToVideo && model->second.requires_image) ||
          (task == Task::kImageToVideo && !model->second.accepts_image))
        throw ApiError(404, "",
                       fmt::format("{} ({}) has no {} route; GET /api/v3/models lists "
                                   "this server's routes",
                                   name, model->second.variant, task_text));
      const json body = parse_body(req);
      Job job;
      job.id = random_id();
      job.model = route_of(name, task);
      job.input = normalise_input(body, task, ctx.limits, random_u64() >> 32);
      check_loras(job.input, ctx.runner.lora_dir(), model->second.two_experts);
      // Images become files now (a data: URI is stored as an upload, and the job keeps its URL),
      // so a bad image is refused here and the job can run again after a restart.
      std::set<std::string> own = ctx.own_authorities;
      own.insert(req.get_header_value("Host"));
      auto resolve = [&](const std::string& field, const std::string& value) {
        return ctx.media.resolve_image(field, value, own);
      };
      for (const char* field : {"image", "last_image"}) {
        if (!job.input.contains(field)) continue;
        const fs::path file = resolve(field, job.input[field].get<std::string>());
        job.input[field] =
            "/media/" + file.parent_path().filename().string() + "/" + file.filename().string();
      }
      if (job.input.contains("reference"))
        for (auto& ref : job.input["reference"]) {
          const fs::path file = resolve("reference", ref.get<std::string>());
          ref = "/media/" + file.parent_path().filename().string() + "/" + file.filename().string();
        }
      // The engine's own checks (sizes, sampler, memory) before the job is accepted: a request the
      // model cannot serve is a 400 now, not a failed job later.
      GenerateRequest dry =
          to_generate_request(job.input, [&](const std::string& field, const std::string& value) {
            return ctx.media.resolve_image(field, value, {});
          });
      dry.dry_run = true;
      dry.output = ctx.runner.output_path(job.id).string();
      ctx.runner.engine(name)->generate(dry);
      job = ctx.runner.submit(std::move(job));
      const std::string base = base_url(req);
      if (!body.value("enable_sync_mode", false)) {
        send_data(res, prediction(*ctx.runner.get(job.id), base));
        return;
      }
      const auto deadline = std::chrono::steady_clock::now() +
                            std::chrono::duration<double>(ctx.limits.sync_timeout_seconds);
      uint64_t seen = ctx.runner.version();
      while (true) {
        const auto now_job = ctx.runner.get(job.id);
        if (is_final(now_job->status)) {
          send_data(res, prediction(*now_job, base));
          return;
        }
        const double left =
            std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
          json data = prediction(*now_job, base);
          data["error"] =
              fmt::format("Sync mode timed out after {:.0f} s; the job goes on: GET {}",
                          ctx.limits.sync_timeout_seconds, data["urls"]["get"].get<std::string>());
          send_data(res, data);
          return;
        }
        seen = ctx.runner.wait_for_change(seen, std::min(left, 5.0));
      }
    });
  });

  // Outputs: only a completed job's MP4 and sidecar, by id.
  server.Get(R"(/outputs/([0-9a-f]{32})\.(mp4|json))",
             [&ctx](const httplib::Request& req, httplib::Response& res) {
               guarded(res, [&] {
                 const auto job = ctx.runner.get(req.matches[1]);
                 if (!job || job->status != JobStatus::kCompleted)
                   throw ApiError(404, "", "no completed prediction with this id");
                 const bool mp4 = req.matches[2] == "mp4";
                 const fs::path path = ctx.runner.output_path(job->id);
                 send_file(res, mp4 ? path : fs::path(path).replace_extension(".json"),
                           mp4 ? "video/mp4" : "application/json");
               });
             });

  if (!web_dir.empty() && !server.set_mount_point("/", web_dir))
    spdlog::warn("serve: the web page's folder {} is missing; the API still works", web_dir);
}

}  // namespace rayvid::serve
