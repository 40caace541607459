// The HTTP routes: the hosted API's (submit, result, uploads) and rayvid's own (models, history,
// cancel, an event stream, outputs, the page). JSON in and out; every failure is a JSON body
// {"code", "message", "field"} with a 4xx status.
#pragma once

#include <httplib.h>

#include <set>
#include <string>

#include "serve/job_runner.h"
#include "serve/media_store.h"

namespace rayvid::serve {

struct ApiContext {
  JobRunner& runner;
  MediaStore& media;
  Limits limits;
  std::string api_key;                    // empty: no key checked (loopback only)
  std::set<std::string> own_authorities;  // host:port forms of this server, besides Host
  // The model behind the hosted API's own ids (kHostedModel), so a script written for the hosted
  // API runs with only its base URL changed: the first --model.
  std::string default_model;
};

// The hosted Ray API's model id; "<id>/text-to-video" and "<id>/image-to-video" are routes here.
inline constexpr const char* kHostedModel = "luma/ray-3.2";

void install_routes(httplib::Server& server, ApiContext& context, const std::string& web_dir);

}  // namespace rayvid::serve
