// Checks that a user-given path is a regular file before anything opens it. open() on a FIFO
// blocks until a writer appears (forever, for `rayvid inspect fifo.safetensors`), a read of
// /dev/zero never ends, and std::filesystem throws filesystem_error (an "internal error") on a
// symlink loop; each of these is a bad input file, reported in one line that names the path.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace rayvid::io {

// What a path names, following symlinks as open() does.
enum class PathKind {
  kRegular,
  kFolder,
  kFifo,
  kCharDevice,
  kBlockDevice,
  kSocket,
  kOther,          // an unknown file type
  kSymlinkLoop,    // ELOOP: too many levels of symbolic links
  kBrokenSymlink,  // a symlink whose target does not exist
  kMissing,        // nothing there (or a path component is not a folder)
  kInaccessible,   // stat failed otherwise (permissions, name too long, ...)
};

// Never throws.
PathKind path_kind(const std::filesystem::path& path);

// The path's kind in words for messages: "a FIFO (named pipe)", "a folder", "not found", ...
std::string describe_path(const std::filesystem::path& path);

// Throws rayvid::Error(kBadInput) unless `path` is a regular file or a symlink to one. The one-line
// message names the path, `what` it should be ("weights file"), what it is, and the fix:
//   "m/vae/x.safetensors: cannot read the weights file: it is a FIFO (named pipe), not a regular
//    file; put the real file there"
void require_regular_file(const std::filesystem::path& path, std::string_view what);

// The whole content of a regular file, checked with require_regular_file and again on the open
// descriptor (opened non-blocking, so a path swapped for a FIFO in between cannot hang the read).
std::string read_regular_file(const std::filesystem::path& path, std::string_view what);

}  // namespace rayvid::io
