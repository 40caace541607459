// The server's memory that survives a crash: every accepted job and upload in one SQLite file
// (WAL journal, synchronous=FULL, so a job the client was told about is on disk before the reply).
// One connection behind a mutex: the worker and the HTTP threads write rarely and briefly.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "serve/job.h"

namespace rayvid::serve {

class JobStore {
 public:
  // Opens or creates the database; a file that is not rayvid's is kBadInput with its path.
  explicit JobStore(const std::filesystem::path& path);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // Inserts a new job (its seq is assigned here) and returns it.
  Job insert(Job job);
  std::optional<Job> get(const std::string& id) const;
  // Newest first, at most `limit`.
  std::vector<Job> recent(int limit) const;
  // Oldest first: the jobs in one status.
  std::vector<Job> with_status(JobStatus status) const;
  int64_t count(JobStatus status) const;

  void mark_processing(const std::string& id, double now);  // attempts + 1
  void mark_completed(const std::string& id, const std::string& output, double now);
  void mark_failed(const std::string& id, JobStatus status, const std::string& error, double now);
  void requeue(const std::string& id);  // processing -> created, after a restart

  void insert_upload(const Upload& upload);
  std::optional<Upload> get_upload(const std::string& id) const;
  void mark_upload_complete(const std::string& id);

 private:
  void exec(const char* sql) const;
  mutable std::mutex mutex_;
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

}  // namespace rayvid::serve
