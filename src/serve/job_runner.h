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

// A model the server offers: its route name ("wan2.2-ti2v-5b"), how to open it, and its engine.
// A job whose per-request LoRAs differ from the engine's gets a fresh engine (the weights reload
// with those LoRAs merged); the next job with the same LoRAs reuses it.
struct ServedModel {
  std::string name;
  std::shared_ptr<Engine> engine;
  ModelInfo info;
  EngineOptions options;  // model_dir and the server-wide settings and LoRAs
  std::vector<LoraOption> request_loras, request_loras_2;  // the engine's per-request LoRAs
};

class JobRunner {
 public:
  // `resolve` maps a stored input's image fields to files (uploads already on disk).
  JobRunner(JobStore& store, std::map<std::string, ServedModel> models,
            std::filesystem::path outputs_dir, Limits limits, ImageResolver resolve,
            std::filesystem::path lora_dir = {});
  ~JobRunner();  // stops the worker after the running job's next progress report

  // Re-queues the store's waiting and interrupted jobs and removes temporaries left by a kill.
  // Returns {requeued, failed}.
  std::pair<int, int> recover();
  void start();

  // The served models' names and what they can do (fixed for the server's life).
  std::map<std::string, ModelInfo> model_infos() const;
  // The engine a model's jobs run on now (for a dry run beside the worker); null if unknown.
  std::shared_ptr<Engine> engine(const std::string& name) const;
  const std::filesystem::path& lora_dir() const { return lora_dir_; }
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
  std::shared_ptr<Engine> engine_for(ServedModel& model, const nlohmann::json& input);
  void bump();

  JobStore& store_;
  std::map<std::string, ServedModel> models_;
  std::filesystem::path outputs_dir_;
  Limits limits_;
  ImageResolver resolve_;
  std::filesystem::path lora_dir_;

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
