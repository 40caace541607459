// The job store and the worker with a stand-in engine: submission order, the bounded queue,
// cancel, and what a restart makes of the store (the crash itself is
// tests/serve/test_crash_restart.py).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "serve/api_error.h"
#include "serve/job_runner.h"
#include "support/test_env.h"

namespace rayvid::serve {
namespace {
namespace fs = std::filesystem;

// Writes the prompt into request.output after `steps` progress reports; blocks on `gate` first.
class StandInEngine : public Engine {
 public:
  std::atomic<bool> gate{true};
  std::atomic<int> runs{0};
  std::vector<std::string> prompts;
  GenerateResult generate(const GenerateRequest& request,
                          const ProgressCallback& progress) override {
    if (request.dry_run) return {};
    while (!gate) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    for (int step = 1; step <= 3; ++step) progress(Progress{"denoise", step, 3, 0.1, 0.1, 0.1});
    if (request.prompt == "fail")
      throw Error(ErrorCategory::kBadInput, "the checkpoint is truncated");
    ++runs;
    prompts.push_back(request.prompt);
    std::ofstream(request.output) << request.prompt;
    return {};
  }
  std::string variant() const override { return "stand-in"; }
  ModelInfo info() const override { return {"stand-in", "wan2.2-ti2v", true, false, false}; }
};

struct Fixture {
  fs::path dir;
  std::shared_ptr<StandInEngine> engine = std::make_shared<StandInEngine>();
  std::unique_ptr<JobStore> store;
  std::unique_ptr<JobRunner> runner;
  explicit Fixture(const std::string& name, int queue_size = 8) : dir(test::scratch_dir(name)) {
    open(queue_size);
  }
  void open(int queue_size = 8) {
    runner.reset();
    store = std::make_unique<JobStore>(dir / "jobs.sqlite");
    Limits limits;
    limits.queue_size = queue_size;
    std::map<std::string, ServedModel> models;
    models["m"] = ServedModel{"m", engine, engine->info(), {}, {}, {}};
    runner = std::make_unique<JobRunner>(*store, models, dir / "outputs", limits, nullptr);
  }
  Job job(const std::string& prompt) {
    Job j;
    j.id = prompt + std::string(32 - prompt.size(), '0');
    j.model = "rayvid/m/text-to-video";
    j.input = {{"prompt", prompt}, {"seed", 1}};
    return j;
  }
  JobStatus wait_final(const std::string& id) {
    for (int i = 0; i < 5000; ++i) {
      const auto j = runner->get(id);
      if (j && is_final(j->status)) return j->status;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ADD_FAILURE() << "job " << id << " never finished";
    return JobStatus::kProcessing;
  }
};

TEST(ServeJobRunner, RunsJobsInOrderAndRecordsEachOutcome) {
  Fixture f("serve_runner_order");
  f.runner->start();
  const Job a = f.runner->submit(f.job("a"));
  const Job b = f.runner->submit(f.job("fail"));
  const Job c = f.runner->submit(f.job("c"));
  EXPECT_LT(a.seq, b.seq);
  EXPECT_EQ(f.wait_final(a.id), JobStatus::kCompleted);
  EXPECT_EQ(f.wait_final(b.id), JobStatus::kFailed);
  EXPECT_EQ(f.wait_final(c.id), JobStatus::kCompleted);
  EXPECT_EQ(f.engine->prompts, (std::vector<std::string>{"a", "c"}));
  const Job failed = *f.store->get(b.id);
  EXPECT_EQ(failed.error, "bad input: the checkpoint is truncated");
  EXPECT_EQ(failed.attempts, 1);
  const Job done = *f.store->get(c.id);
  EXPECT_EQ(done.output, c.id + ".mp4");
  EXPECT_EQ(done.input["prompt"], "c");
  EXPECT_GE(done.finished_at, done.started_at);
  EXPECT_TRUE(fs::exists(f.dir / "outputs" / done.output));
}

TEST(ServeJobRunner, AFullQueueRefusesWith429AndCancelFreesASlot) {
  Fixture f("serve_runner_queue", 2);
  f.engine->gate = false;  // the first job holds the worker
  f.runner->start();
  const Job running = f.runner->submit(f.job("r"));
  for (int i = 0; i < 1000 && f.runner->queued() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const Job w1 = f.runner->submit(f.job("w1"));
  f.runner->submit(f.job("w2"));
  try {
    f.runner->submit(f.job("w3"));
    FAIL() << "a third waiting job was accepted by a queue of 2";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 429);
  }
  EXPECT_FALSE(f.store->get("w3" + std::string(30, '0')).has_value());  // refused: not recorded
  EXPECT_TRUE(f.runner->cancel(w1.id));
  EXPECT_EQ(f.store->get(w1.id)->status, JobStatus::kCancelled);
  EXPECT_FALSE(f.runner->cancel(w1.id));      // already final
  f.runner->submit(f.job("w3"));              // the slot is free again
  EXPECT_TRUE(f.runner->cancel(running.id));  // the running one stops at its next step
  f.engine->gate = true;
  EXPECT_EQ(f.wait_final(running.id), JobStatus::kCancelled);
  EXPECT_FALSE(fs::exists(f.runner->output_path(running.id)));
  EXPECT_EQ(f.wait_final("w3" + std::string(30, '0')), JobStatus::kCompleted);
  EXPECT_EQ(f.engine->prompts, (std::vector<std::string>{"w2", "w3"}));
}

TEST(ServeJobRunner, ARestartRequeuesRerunsOnceAndCleansTemporaries) {
  Fixture f("serve_runner_recover");
  // The store as a SIGKILL leaves it: one job processing (first attempt), one processing for the
  // second time, one processing whose output had already landed, two waiting; a temporary.
  const Job once = f.store->insert(f.job("once"));
  f.store->mark_processing(once.id, 1);
  const Job twice = f.store->insert(f.job("twice"));
  f.store->mark_processing(twice.id, 1);
  f.store->mark_processing(twice.id, 2);
  const Job landed = f.store->insert(f.job("landed"));
  f.store->mark_processing(landed.id, 1);
  std::ofstream(f.runner->output_path(landed.id)) << "landed";
  const Job w1 = f.store->insert(f.job("w1"));
  const Job w2 = f.store->insert(f.job("w2"));
  const fs::path temp = f.dir / "outputs" / ("." + once.id + ".tmp-123-abc.mp4");
  std::ofstream(temp) << "partial";

  f.open();  // the restart
  EXPECT_EQ(f.runner->recover(), std::make_pair(3, 1));
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_EQ(f.store->get(twice.id)->status, JobStatus::kFailed);
  EXPECT_NE(f.store->get(twice.id)->error.find("interrupted by 2 server stops"), std::string::npos);
  EXPECT_EQ(f.store->get(landed.id)->status, JobStatus::kCompleted);
  f.runner->start();
  for (const Job& j : {once, w1, w2}) EXPECT_EQ(f.wait_final(j.id), JobStatus::kCompleted);
  EXPECT_EQ(f.engine->prompts,
            (std::vector<std::string>{"once", "w1", "w2"}));  // landed not re-run
  EXPECT_EQ(f.store->get(once.id)->attempts, 2);
  EXPECT_EQ(f.store->get(w1.id)->attempts, 1);
}

TEST(ServeJobStore, ReopensWhatItWroteAndRefusesAForeignFile) {
  const fs::path dir = test::scratch_dir("serve_store_reopen");
  {
    JobStore store(dir / "jobs.sqlite");
    Job j;
    j.id = std::string(32, 'a');
    j.model = "rayvid/m/text-to-video";
    j.input = {{"prompt", "ünïcode ✓"}, {"seed", 18446744073709551615ull}};
    store.insert(j);
    store.insert_upload({std::string(32, 'b'), "x.png", "image/png", 10, false, 1});
  }
  JobStore store(dir / "jobs.sqlite");
  const auto j = store.get(std::string(32, 'a'));
  ASSERT_TRUE(j);
  EXPECT_EQ(j->input["prompt"], "ünïcode ✓");
  EXPECT_EQ(j->input["seed"].get<uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ(store.count(JobStatus::kCreated), 1);
  EXPECT_EQ(store.get_upload(std::string(32, 'b'))->filename, "x.png");
  std::ofstream(dir / "not-a-db") << "this is not SQLite, just text that is long enough to matter";
  try {
    JobStore foreign(dir / "not-a-db");
    FAIL() << "a text file opened as a job store";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
    EXPECT_NE(std::string(e.what()).find("--data-dir"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rayvid::serve
