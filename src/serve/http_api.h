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
  std::string api_key;           // empty: no key checked (loopback only)
  std::set<std::string> own_authorities;  // host:port forms of this server, besides Host
};

void install_routes(httplib::Server& server, ApiContext& context, const std::string& web_dir);

}  // namespace rayvid::serve
