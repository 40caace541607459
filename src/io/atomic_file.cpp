// Atomic output files: temporary name in the target folder, rename on success.
#include "io/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include "core/check.h"

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
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) {
    std::error_code ignored;
    fs::remove(temp_, ignored);
  }
}

void AtomicOutput::commit() {
  std::error_code ec;
  fs::rename(temp_, target_, ec);
  RAYVID_CHECK(!ec, BadInput, "cannot move {} into place as {}: {}", temp_.string(),
               target_.string(), ec.message());
  committed_ = true;
}

void write_file_atomic(const fs::path& target, std::string_view contents) {
  AtomicOutput out(target);
  {
    std::ofstream file(out.temp_path(), std::ios::binary | std::ios::trunc);
    RAYVID_CHECK(file.good(), BadInput, "cannot write {}: {}", out.temp_path().string(),
                 std::strerror(errno));
    file.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    file.flush();
    RAYVID_CHECK(file.good(), BadInput, "writing {} failed (disk full?)", out.temp_path().string());
  }
  out.commit();
}

}  // namespace rayvid::io
