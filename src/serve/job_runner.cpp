#include "serve/job_runner.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "serve/api_error.h"

namespace rayvid::serve {
namespace {
namespace fs = std::filesystem;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Thrown from the progress callback to stop a cancelled job; the engine lets it through and
// removes its temporaries (Engine::generate).
struct JobCancelled {};

std::string one_line(std::string message) {
  std::replace(message.begin(), message.end(), '\n', ' ');
  return message;
}

// A job interrupted by this many server stops is failed instead of run again.
constexpr int kMaxAttempts = 2;

}  // namespace

std::string route_of(const std::string& model_name, Task task) {
  return "rayvid/" + model_name + "/" + task_name(task);
}

JobRunner::JobRunner(JobStore& store, std::map<std::string, ServedModel> models,
                     fs::path outputs_dir, Limits limits, ImageResolver resolve, fs::path lora_dir)
    : store_(store),
      models_(std::move(models)),
      outputs_dir_(std::move(outputs_dir)),
      limits_(limits),
      resolve_(std::move(resolve)),
      lora_dir_(std::move(lora_dir)) {
  fs::create_directories(outputs_dir_);
}

JobRunner::~JobRunner() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    cancel_running_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
}

std::pair<int, int> JobRunner::recover() {
  // A SIGKILL leaves the engine's temporaries (".<id>.tmp-PID-RAND.mp4"); never a target name.
  for (const auto& entry : fs::directory_iterator(outputs_dir_)) {
    const std::string name = entry.path().filename().string();
    if (!name.empty() && name[0] == '.' && name.find(".tmp-") != std::string::npos)
      fs::remove(entry.path());
  }
  int requeued = 0, failed = 0;
  for (const Job& job : store_.with_status(JobStatus::kProcessing)) {
    if (fs::exists(output_path(job.id))) {  // killed after the rename, before the record
      store_.mark_completed(job.id, job.id + ".mp4", now_seconds());
    } else if (job.attempts >= kMaxAttempts) {
      store_.mark_failed(
          job.id, JobStatus::kFailed,
          fmt::format("interrupted by {} server stops; not run again (resubmit it)", job.attempts),
          now_seconds());
      ++failed;
    } else {
      store_.requeue(job.id);
    }
  }
  std::lock_guard lock(mutex_);
  for (const Job& job : store_.with_status(JobStatus::kCreated)) {
    queue_.push_back(job.id);
    ++requeued;
  }
  return {requeued, failed};
}

void JobRunner::start() {
  worker_ = std::thread([this] { work(); });
}

Job JobRunner::submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (static_cast<int>(queue_.size()) >= limits_.queue_size)
      throw ApiError(429, "",
                     fmt::format("the queue is full ({} jobs waiting); retry later "
                                 "(rayvid serve --queue-size sets the limit)",
                                 queue_.size()));
    job.status = JobStatus::kCreated;
    job.created_at = now_seconds();
    job = store_.insert(std::move(job));  // on disk before the client hears of it
    queue_.push_back(job.id);
    ++version_;
  }
  changed_.notify_all();
  return job;
}

bool JobRunner::cancel(const std::string& id) {
  {
    std::lock_guard lock(mutex_);
    if (running_ == id) {
      cancel_running_ = true;
      return true;
    }
    const auto it = std::find(queue_.begin(), queue_.end(), id);
    if (it == queue_.end()) return false;
    queue_.erase(it);
    store_.mark_failed(id, JobStatus::kCancelled, "cancelled before it started", now_seconds());
    ++version_;
  }
  changed_.notify_all();
  return true;
}

uint64_t JobRunner::wait_for_change(uint64_t seen, double timeout_seconds) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, std::chrono::duration<double>(timeout_seconds),
                    [&] { return version_ != seen || stop_; });
  return version_;
}

uint64_t JobRunner::version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

int JobRunner::queued() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(queue_.size());
}

std::optional<Job> JobRunner::get(const std::string& id) const {
  auto job = store_.get(id);
  if (!job) return job;
  std::lock_guard lock(mutex_);
  if (const auto it = live_progress_.find(id);
      it != live_progress_.end() && job->status == JobStatus::kProcessing)
    job->progress = it->second;
  if (job->status == JobStatus::kCreated) {
    const auto at = std::find(queue_.begin(), queue_.end(), id);
    if (at != queue_.end()) job->progress = {{"queue_position", at - queue_.begin() + 1}};
  }
  return job;
}

std::map<std::string, ModelInfo> JobRunner::model_infos() const {
  std::map<std::string, ModelInfo> infos;
  for (const auto& [name, m] : models_) infos[name] = m.info;
  return infos;
}

std::shared_ptr<Engine> JobRunner::engine(const std::string& name) const {
  std::lock_guard lock(mutex_);
  const auto it = models_.find(name);
  return it == models_.end() ? nullptr : it->second.engine;
}

std::vector<Job> JobRunner::recent(int limit) const {
  std::vector<Job> jobs;
  for (const Job& stored : store_.recent(limit))
    if (auto job = get(stored.id)) jobs.push_back(std::move(*job));
  return jobs;
}

void JobRunner::bump() {
  {
    std::lock_guard lock(mutex_);
    ++version_;
  }
  changed_.notify_all();
}

void JobRunner::work() {
  while (true) {
    std::string id;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      id = queue_.front();
      queue_.pop_front();
      running_ = id;
      cancel_running_ = false;
    }
    if (auto job = store_.get(id)) run_one(std::move(*job));
    {
      std::lock_guard lock(mutex_);
      running_.clear();
      live_progress_.erase(id);
      ++version_;
    }
    changed_.notify_all();
  }
}

namespace {

bool same_loras(const std::vector<LoraOption>& a, const std::vector<LoraOption>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.path == y.path && x.strength == y.strength;
  });
}

}  // namespace

std::shared_ptr<Engine> JobRunner::engine_for(ServedModel& model, const nlohmann::json& input) {
  const auto loras = loras_of(input, "loras", lora_dir_);
  const auto loras_2 = loras_of(input, "loras_2", lora_dir_);
  std::lock_guard lock(mutex_);
  if (model.engine && same_loras(loras, model.request_loras) &&
      same_loras(loras_2, model.request_loras_2))
    return model.engine;
  EngineOptions options = model.options;
  options.loras.insert(options.loras.end(), loras.begin(), loras.end());
  options.loras_2.insert(options.loras_2.end(), loras_2.begin(), loras_2.end());
  spdlog::info("serve: {}: reloading with {} per-request LoRA(s)", model.name,
               loras.size() + loras_2.size());
  model.engine.reset();  // the old weights go before the new ones load (a dry run may hold on)
  model.request_loras.clear();
  model.request_loras_2.clear();
  model.engine = Engine::open(options);  // if this throws, the next job opens one again
  model.request_loras = loras;
  model.request_loras_2 = loras_2;
  return model.engine;
}

void JobRunner::run_one(Job job) {
  store_.mark_processing(job.id, now_seconds());
  bump();
  const double started = now_seconds();
  try {
    const std::string name = job.model.substr(7, job.model.rfind('/') - 7);  // rayvid/<name>/<task>
    const auto model = models_.find(name);
    if (model == models_.end())
      throw Error(ErrorCategory::kUnsupported,
                  fmt::format("model {} is not loaded by this server; restart it with that "
                              "--model or resubmit to one of GET /api/v3/models",
                              name));
    const std::shared_ptr<Engine> engine = engine_for(model->second, job.input);
    GenerateRequest request = to_generate_request(job.input, resolve_);
    request.output = output_path(job.id).string();
    spdlog::info("job {}: {} started (attempt {})", job.id, job.model, job.attempts + 1);
    engine->generate(request, [&](const Progress& p) {
      std::lock_guard lock(mutex_);
      if (cancel_running_) throw JobCancelled{};
      live_progress_[job.id] = {{"stage", p.stage},
                                {"step", p.step},
                                {"total_steps", p.total_steps},
                                {"eta_seconds", std::round(p.eta_seconds * 10) / 10},
                                {"elapsed_seconds", std::round(p.elapsed_seconds * 10) / 10}};
      ++version_;
      changed_.notify_all();
    });
    store_.mark_completed(job.id, job.id + ".mp4", now_seconds());
    spdlog::info("job {}: completed in {:.1f} s", job.id, now_seconds() - started);
  } catch (const JobCancelled&) {
    store_.mark_failed(job.id, JobStatus::kCancelled, "cancelled while processing", now_seconds());
    spdlog::info("job {}: cancelled", job.id);
  } catch (const ApiError& e) {  // an upload vanished between submit and run
    store_.mark_failed(job.id, JobStatus::kFailed, one_line(e.what()), now_seconds());
  } catch (const Error& e) {
    store_.mark_failed(job.id, JobStatus::kFailed,
                       fmt::format("{}: {}", category_name(e.category()), one_line(e.what())),
                       now_seconds());
    spdlog::warn("job {}: failed: {}", job.id, one_line(e.what()));
  } catch (const std::exception& e) {
    store_.mark_failed(job.id, JobStatus::kFailed,
                       fmt::format("internal error: {} (please report this)", one_line(e.what())),
                       now_seconds());
    spdlog::error("job {}: internal error: {}", job.id, one_line(e.what()));
  }
}

}  // namespace rayvid::serve
