#include "serve/job_store.h"

#include <fmt/format.h>

#include <utility>

#include "core/check.h"

namespace rayvid::serve {
namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  model TEXT NOT NULL,
  input TEXT NOT NULL,
  status TEXT NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  output TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at REAL NOT NULL,
  started_at REAL NOT NULL DEFAULT 0,
  finished_at REAL NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, seq);
CREATE TABLE IF NOT EXISTS uploads (
  id TEXT PRIMARY KEY,
  filename TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  complete INTEGER NOT NULL DEFAULT 0,
  created_at REAL NOT NULL);
)sql";

const char* kJobColumns =
    "id, seq, model, input, status, error, output, attempts, created_at, started_at, finished_at";

// One prepared statement, finalized on scope exit; bind() takes the values in order.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
      fail(ErrorCategory::kInternal, "job store: {} ({})", sqlite3_errmsg(db), sql);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(const std::string& v) {
    sqlite3_bind_text(stmt_, ++n_, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(const char* v) { return bind(std::string(v)); }
  Statement& bind(int64_t v) {
    sqlite3_bind_int64(stmt_, ++n_, v);
    return *this;
  }
  Statement& bind(int v) { return bind(static_cast<int64_t>(v)); }
  Statement& bind(double v) {
    sqlite3_bind_double(stmt_, ++n_, v);
    return *this;
  }
  bool step() {  // true while a row is ready
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(ErrorCategory::kInternal, "job store: {}", sqlite3_errmsg(db_));
  }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int n_ = 0;
};

Job read_job(const Statement& s) {
  Job job;
  job.id = s.text(0);
  job.seq = s.integer(1);
  job.model = s.text(2);
  job.input = nlohmann::json::parse(s.text(3), nullptr, false);
  job.status = parse_status(s.text(4)).value_or(JobStatus::kFailed);
  job.error = s.text(5);
  job.output = s.text(6);
  job.attempts = static_cast<int>(s.integer(7));
  job.created_at = s.real(8);
  job.started_at = s.real(9);
  job.finished_at = s.real(10);
  return job;
}

}  // namespace

const char* status_name(JobStatus status) {
  switch (status) {
    case JobStatus::kCreated:
      return "created";
    case JobStatus::kProcessing:
      return "processing";
    case JobStatus::kCompleted:
      return "completed";
    case JobStatus::kFailed:
      return "failed";
    case JobStatus::kCancelled:
      return "cancelled";
  }
  return "failed";
}

std::optional<JobStatus> parse_status(const std::string& name) {
  for (auto s : {JobStatus::kCreated, JobStatus::kProcessing, JobStatus::kCompleted,
                 JobStatus::kFailed, JobStatus::kCancelled})
    if (name == status_name(s)) return s;
  return std::nullopt;
}

JobStore::JobStore(const std::filesystem::path& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "cannot allocate";
    sqlite3_close(db_);
    db_ = nullptr;
    fail(ErrorCategory::kBadInput, "job database {}: {}; pass a writable --data-dir", path.string(),
         why);
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec(kSchema);
  } catch (const Error& e) {
    sqlite3_close(db_);
    db_ = nullptr;
    fail(ErrorCategory::kBadInput,
         "job database {} is not a rayvid job store ({}); pass another --data-dir", path.string(),
         e.what());
  }
}

JobStore::~JobStore() { sqlite3_close(db_); }

void JobStore::exec(const char* sql) const {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string why = message ? message : "unknown error";
    sqlite3_free(message);
    fail(ErrorCategory::kInternal, "job store: {}", why);
  }
}

Job JobStore::insert(Job job) {
  std::lock_guard lock(mutex_);
  Statement s(db_,
              "INSERT INTO jobs (id, model, input, status, attempts, created_at) "
              "VALUES (?, ?, ?, ?, ?, ?)");
  s.bind(job.id).bind(job.model).bind(job.input.dump()).bind(status_name(job.status));
  s.bind(job.attempts).bind(job.created_at).step();
  job.seq = sqlite3_last_insert_rowid(db_);
  return job;
}

std::optional<Job> JobStore::get(const std::string& id) const {
  std::lock_guard lock(mutex_);
  Statement s(db_, fmt::format("SELECT {} FROM jobs WHERE id = ?", kJobColumns));
  s.bind(id);
  if (!s.step()) return std::nullopt;
  return read_job(s);
}

std::vector<Job> JobStore::recent(int limit) const {
  std::lock_guard lock(mutex_);
  Statement s(db_, fmt::format("SELECT {} FROM jobs ORDER BY seq DESC LIMIT ?", kJobColumns));
  s.bind(limit);
  std::vector<Job> jobs;
  while (s.step()) jobs.push_back(read_job(s));
  return jobs;
}

std::vector<Job> JobStore::with_status(JobStatus status) const {
  std::lock_guard lock(mutex_);
  Statement s(db_,
              fmt::format("SELECT {} FROM jobs WHERE status = ? ORDER BY seq ASC", kJobColumns));
  s.bind(status_name(status));
  std::vector<Job> jobs;
  while (s.step()) jobs.push_back(read_job(s));
  return jobs;
}

int64_t JobStore::count(JobStatus status) const {
  std::lock_guard lock(mutex_);
  Statement s(db_, "SELECT COUNT(*) FROM jobs WHERE status = ?");
  s.bind(status_name(status)).step();
  return s.integer(0);
}

void JobStore::mark_processing(const std::string& id, double now) {
  std::lock_guard lock(mutex_);
  Statement s(db_,
              "UPDATE jobs SET status = 'processing', attempts = attempts + 1, started_at = ? "
              "WHERE id = ?");
  s.bind(now).bind(id).step();
}

void JobStore::mark_completed(const std::string& id, const std::string& output, double now) {
  std::lock_guard lock(mutex_);
  Statement s(db_,
              "UPDATE jobs SET status = 'completed', output = ?, error = '', finished_at = ? "
              "WHERE id = ?");
  s.bind(output).bind(now).bind(id).step();
}

void JobStore::mark_failed(const std::string& id, JobStatus status, const std::string& error,
                           double now) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "UPDATE jobs SET status = ?, error = ?, finished_at = ? WHERE id = ?");
  s.bind(status_name(status)).bind(error).bind(now).bind(id).step();
}

void JobStore::requeue(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "UPDATE jobs SET status = 'created' WHERE id = ?");
  s.bind(id).step();
}

void JobStore::insert_upload(const Upload& upload) {
  std::lock_guard lock(mutex_);
  Statement s(db_,
              "INSERT INTO uploads (id, filename, content_type, size, complete, created_at) "
              "VALUES (?, ?, ?, ?, ?, ?)");
  s.bind(upload.id).bind(upload.filename).bind(upload.content_type).bind(upload.size);
  s.bind(upload.complete ? 1 : 0).bind(upload.created_at).step();
}

std::optional<Upload> JobStore::get_upload(const std::string& id) const {
  std::lock_guard lock(mutex_);
  Statement s(db_,
              "SELECT id, filename, content_type, size, complete, created_at FROM uploads "
              "WHERE id = ?");
  s.bind(id);
  if (!s.step()) return std::nullopt;
  return Upload{s.text(0), s.text(1), s.text(2), s.integer(3), s.integer(4) != 0, s.real(5)};
}

void JobStore::mark_upload_complete(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "UPDATE uploads SET complete = 1 WHERE id = ?");
  s.bind(id).step();
}

}  // namespace rayvid::serve
