// Atomic output files: temporary name in the target folder, rename on success.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include "core/check.h"
#include "io/temp_files.h"

namespace rayvid::io {
namespace fs = std::filesystem;

AtomicOutput::AtomicOutput(fs::path target) : target_(std::move(target)) {
  const fs::path folder = target_.parent_path().empty() ? fs::path(".") : target_.parent_path();
  RAYVID_CHECK(fs::is_directory(folder), BadArgument,
               "output folder {} does not exist; create it or choose another --output",
               folder.string());
  RAYVID_CHECK(!fs::is_directory(target_), BadArgument, "output {} is a folder; name a file",
               target_.string());
  std::random_device entropy;
  temp_ = folder / fmt::format(".{}.tmp-{}-{}{}", target_.stem().string(), ::getpid(),
                               entropy() % 1000000, target_.extension().string());
  install_temp_file_cleanup();
  const int fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  const int error = errno;
  RAYVID_CHECK(fd >= 0 || (error != ENOSPC && error != EDQUOT), BadInput,
               "cannot create a file in {}: the disk is full; free space there or choose another "
               "--output",
               folder.string());
  RAYVID_CHECK(fd >= 0, BadArgument, "cannot write to {} ({}); choose another --output",
               folder.string(), std::strerror(error));
  ::close(fd);
  register_temp_file(temp_);
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) {
    std::error_code ignored;
    fs::remove(temp_, ignored);
    unregister_temp_file(temp_);
  }
}

void AtomicOutput::commit() {
  std::error_code ec;
  fs::rename(temp_, target_, ec);
  RAYVID_CHECK(!ec, BadInput, "cannot move {} into place as {}: {}", temp_.string(),
               target_.string(), ec.message());
  unregister_temp_file(temp_);
  committed_ = true;
}

void write_file_contents(const fs::path& path, std::string_view contents) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  RAYVID_CHECK(file.good(), BadArgument, "cannot write {}: {}", path.string(),
               std::strerror(errno));
  file.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  file.flush();
  const int error = errno;
  RAYVID_CHECK(file.good(), BadInput,
               "writing {} failed ({}); free space there or choose another "
               "--output",
               path.string(), error == ENOSPC ? "the disk is full" : std::strerror(error));
}

void write_file_atomic(const fs::path& target, std::string_view contents) {
  AtomicOutput out(target);
  write_file_contents(out.temp_path(), contents);
  out.commit();
}

OutputSet::OutputSet(const std::vector<fs::path>& targets) {
  for (const auto& target : targets) outputs_.push_back(std::make_unique<AtomicOutput>(target));
}

void OutputSet::commit() {
  size_t landed = 0;
  try {
    for (; landed < outputs_.size(); ++landed) outputs_[landed]->commit();
  } catch (...) {
    std::error_code ignored;
    for (size_t i = 0; i < landed; ++i) fs::remove(outputs_[i]->target(), ignored);
    throw;
  }
}

}  // namespace rayvid::io
