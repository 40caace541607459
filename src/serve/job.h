// A job as the server records it: what was asked (the request body, validated, with the seed it
// ran with), where it stands, and what came out. Statuses are the hosted API's words.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace rayvid::serve {

enum class JobStatus { kCreated, kProcessing, kCompleted, kFailed, kCancelled };

const char* status_name(JobStatus status);  // "created", "processing", ...
std::optional<JobStatus> parse_status(const std::string& name);
inline bool is_final(JobStatus s) {
  return s == JobStatus::kCompleted || s == JobStatus::kFailed || s == JobStatus::kCancelled;
}

struct Job {
  std::string id;     // 32 hex digits from a CSPRNG: the job's URLs are capabilities
  int64_t seq = 0;    // submission order (the queue's order after a restart)
  std::string model;  // the route: "rayvid/<model>/text-to-video"
  nlohmann::json input = nlohmann::json::object();  // the body as accepted, seed filled in
  JobStatus status = JobStatus::kCreated;
  std::string error;   // the engine's one-line message when failed
  std::string output;  // file name under the outputs folder when completed ("<id>.mp4")
  int attempts = 0;    // runs started; a restart re-runs an interrupted job once
  double created_at = 0, started_at = 0, finished_at = 0;  // Unix seconds
  // While processing: {"stage", "step", "total_steps", "eta_seconds", "elapsed_seconds"};
  // while waiting: {"queue_position"}. Kept in memory only (JobRunner), not in the store.
  nlohmann::json progress = nlohmann::json::object();
};

// A pending or finished upload: a ticket first (POST /api/v3/media/uploads), the bytes later (PUT).
struct Upload {
  std::string id;
  std::string filename;  // sanitised: [A-Za-z0-9._-], no leading dot
  std::string content_type;
  int64_t size = 0;  // declared in the ticket; the PUT must match it
  bool complete = false;
  double created_at = 0;
};

}  // namespace rayvid::serve
