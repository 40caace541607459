// One worker, one engine per model, jobs one at a time in submission order. The queue is bounded
// (submit() refuses with 429 when full); every change of state is written to the job store before
// anyone is told, and watchers (sync-mode POSTs, the event stream) wait on a version counter.
//
// After a crash the store is the truth: recover() re-queues what was waiting, and re-runs a job
// that was processing once more (its output has a fixed name and lands by rename, so a second run
// can only replace nothing: one job, one file). A job interrupted twice is failed, not retried.
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "rayvid/rayvid.h"
#include "serve/job_store.h"
#include "serve/limits.h"
#include "serve/request_fields.h"

namespace rayvid::serve {

// A model the server offers: its route name ("wan2.2-ti2v-5b") and its engine.
struct ServedModel {
  std::string name;
  std::shared_ptr<Engine> engine;
  ModelInfo info;
};

class JobRunner {
 public:
  // `resolve` maps a stored input's image fields to files (uploads already on disk).
  JobRunner(JobStore& store, std::map<std::string, ServedModel> models,
            std::filesystem::path outputs_dir, Limits limits, ImageResolver resolve);
  ~JobRunner();  // stops the worker after the running job's next progress report

  // Re-queues the store's waiting and interrupted jobs and removes temporaries left by a kill.
  // Returns {requeued, failed}.
  std::pair<int, int> recover();
  void start();

  const std::map<std::string, ServedModel>& models() const { return models_; }
  // Queues a validated job (status created) and returns it; ApiError 429 when the queue is full.
  Job submit(Job job);
  // Cancels a waiting job at once, a running one at its next step. False if already final.
  bool cancel(const std::string& id);
  // Blocks until the job is final, the version moves past `seen`, or the timeout passes; returns
  // the current version.
  uint64_t wait_for_change(uint64_t seen, double timeout_seconds);
  uint64_t version() const;
  // The live job: the store's record with the latest progress.
  std::optional<Job> get(const std::string& id) const;
  int queued() const;
  // The newest `limit` jobs, live progress included.
  std::vector<Job> recent(int limit) const;

  std::filesystem::path output_path(const std::string& id) const {
    return outputs_dir_ / (id + ".mp4");
  }

 private:
  void work();
  void run_one(Job job);
  void bump();

  JobStore& store_;
  std::map<std::string, ServedModel> models_;
  std::filesystem::path outputs_dir_;
  Limits limits_;
  ImageResolver resolve_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  std::string running_;
  bool cancel_running_ = false;
  bool stop_ = false;
  uint64_t version_ = 0;
  std::map<std::string, nlohmann::json> live_progress_;
  std::thread worker_;
};

// Job ids whose model is known, with the model's route pieces: "rayvid/<name>/<task>".
std::string route_of(const std::string& model_name, Task task);

}  // namespace rayvid::serve
