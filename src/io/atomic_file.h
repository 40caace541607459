// Atomic output: write to a temporary file beside the target, rename on success. A crash or an
// error never leaves a partial file under the requested name.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rayvid::io {

class AtomicOutput {
 public:
  // Creates the (empty) temporary file at once, so an unwritable folder, a read-only mount or a
  // path like /proc/x.mp4 fails here, before any heavy work, not after it (kBadArgument, exit 2).
  // The temporary is registered for removal on SIGINT/SIGTERM/SIGHUP (io/temp_files.h). Its name
  // keeps the target's extension (".mp4"), because libavformat picks the container from it.
  explicit AtomicOutput(std::filesystem::path target);
  ~AtomicOutput();  // removes the temporary file unless commit() ran
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
  void commit();  // rename(temp, target); throws on failure

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool committed_ = false;
};

// Writes `contents` to `target` atomically.
void write_file_atomic(const std::filesystem::path& target, std::string_view contents);
// Writes `contents` to an existing file (a temporary of an AtomicOutput or OutputSet); a full
// disk is kBadInput (exit 3) with the fix.
void write_file_contents(const std::filesystem::path& path, std::string_view contents);

// Files that land together or not at all: an MP4 and its JSON sidecar. Every temporary is created
// up front (see AtomicOutput); commit() renames them into place in order and, if a rename fails,
// removes the targets already renamed, so a failed run never leaves one without the other.
class OutputSet {
 public:
  explicit OutputSet(const std::vector<std::filesystem::path>& targets);
  const std::filesystem::path& temp_path(size_t i) const { return outputs_.at(i)->temp_path(); }
  void commit();

 private:
  std::vector<std::unique_ptr<AtomicOutput>> outputs_;
};

}  // namespace rayvid::io
