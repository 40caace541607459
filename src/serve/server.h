// `rayvid serve`: the hosted Ray API's protocol on a workstation (serve/http_api.cpp has the
// routes), one engine per model, one worker (serve/job_runner.h), jobs in SQLite
// (serve/job_store.h), and the web page from serve/web/.
#pragma once

#include <string>
#include <vector>

#include "rayvid/rayvid.h"
#include "serve/limits.h"

namespace rayvid::serve {

struct ServeOptions {
  // Models to serve: "DIR" (routes named by the model's variant) or "NAME=DIR".
  std::vector<std::string> models;
  EngineOptions engine;  // device, dtype, kernels, LoRAs: shared by every model (model_dir unset)
  std::string host = "127.0.0.1";
  int port = 8188;                        // 0: any free port (the URL printed on stdout says which)
  std::string api_key;                    // required unless the host is loopback
  std::string data_dir = "rayvid-serve";  // jobs.sqlite, uploads/, outputs/
  std::string web_dir;                    // the page's static files
  std::string lora_dir;  // where a request's `loras` names files; empty: no per-request LoRAs
  Limits limits;
};

// Runs until the process is stopped. Prints "rayvid serve: http://HOST:PORT" on stdout once
// listening (a test or script reads it to find a port chosen with --port 0).
void run_server(const ServeOptions& options);

// Whether a --host value is this machine only (127.0.0.0/8, localhost, ::1).
bool is_loopback_host(const std::string& host);

}  // namespace rayvid::serve
