// Atomic output: write to a temporary file beside the target, rename on success. A crash or an
// error never leaves a partial file under the requested name.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace rayvid::io {

class AtomicOutput {
 public:
  // The temporary name keeps the target's extension (".mp4"), because libavformat picks the
  // container from it.
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

}  // namespace rayvid::io
