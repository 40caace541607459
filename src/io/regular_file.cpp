// Refusing paths that are not regular files, before they are opened: see regular_file.h.
#include "io/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/check.h"

namespace rayvid::io {
namespace fs = std::filesystem;
namespace {

struct Examined {
  PathKind kind;
  int error = 0;  // errno of a failed stat, for kInaccessible
};

PathKind kind_of_mode(mode_t mode) {
  if (S_ISREG(mode)) return PathKind::kRegular;
  if (S_ISDIR(mode)) return PathKind::kFolder;
  if (S_ISFIFO(mode)) return PathKind::kFifo;
  if (S_ISCHR(mode)) return PathKind::kCharDevice;
  if (S_ISBLK(mode)) return PathKind::kBlockDevice;
  if (S_ISSOCK(mode)) return PathKind::kSocket;
  return PathKind::kOther;
}

// stat(2) rather than std::filesystem::status: it follows symlinks the same way, but reports a
// loop as ELOOP instead of throwing.
Examined examine(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return {kind_of_mode(st.st_mode)};
  const int error = errno;
  if (error == ELOOP) return {PathKind::kSymlinkLoop};
  if (error == ENOENT) {
    struct stat link {};
    const bool dangling = ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode);
    return {dangling ? PathKind::kBrokenSymlink : PathKind::kMissing};
  }
  if (error == ENOTDIR) return {PathKind::kMissing};
  return {PathKind::kInaccessible, error};
}

std::string describe(const Examined& e) {
  switch (e.kind) {
    case PathKind::kRegular:
      return "a regular file";
    case PathKind::kFolder:
      return "a folder";
    case PathKind::kFifo:
      return "a FIFO (named pipe)";
    case PathKind::kCharDevice:
      return "a character device";
    case PathKind::kBlockDevice:
      return "a block device";
    case PathKind::kSocket:
      return "a socket";
    case PathKind::kOther:
      return "an unknown kind of file";
    case PathKind::kSymlinkLoop:
      return "a symlink loop";
    case PathKind::kBrokenSymlink:
      return "a broken symlink";
    case PathKind::kMissing:
      return "not found";
    case PathKind::kInaccessible:
      return fmt::format("inaccessible ({})", std::strerror(e.error));
  }
  return "an unknown kind of file";
}

// The part of the message after "cannot read the <what>: ": the problem, then the fix.
std::string problem_and_fix(const fs::path& path, const Examined& e) {
  switch (e.kind) {
    case PathKind::kMissing:
      return "not found; check the path (does the file exist?)";
    case PathKind::kSymlinkLoop:
      return "it is a symlink loop (too many levels of symbolic links); point the link at the "
             "real file";
    case PathKind::kBrokenSymlink: {
      std::error_code ec;
      const fs::path target = fs::read_symlink(path, ec);
      return fmt::format(
          "it is a symlink to '{}', which does not exist; point the link at the "
          "real file",
          target.string());
    }
    case PathKind::kInaccessible:
      return fmt::format("{}; check the path and its permissions", std::strerror(e.error));
    default:
      return fmt::format("it is {}, not a regular file; put the real file there", describe(e));
  }
}

}  // namespace

PathKind path_kind(const fs::path& path) { return examine(path).kind; }

std::string describe_path(const fs::path& path) { return describe(examine(path)); }

void require_regular_file(const fs::path& path, std::string_view what) {
  const Examined e = examine(path);
  RAYVID_CHECK(e.kind == PathKind::kRegular, BadInput, "{}: cannot read the {}: {}", path.string(),
               what, problem_and_fix(path, e));
}

std::string read_regular_file(const fs::path& path, std::string_view what) {
  require_regular_file(path, what);
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  RAYVID_CHECK(fd >= 0, BadInput, "{}: cannot read the {}: {}", path.string(), what,
               std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(ErrorCategory::kBadInput,
         "{}: cannot read the {}: it stopped being a regular file while being opened; put "
         "the real file there",
         path.string(), what);
  }
  std::string content;
  content.reserve(static_cast<size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      content.append(buffer, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      const int error = errno;
      ::close(fd);
      fail(ErrorCategory::kBadInput, "{}: cannot read the {}: {}", path.string(), what,
           std::strerror(error));
    }
  }
  ::close(fd);
  return content;
}

}  // namespace rayvid::io
