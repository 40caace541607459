// Test environment helpers.
#include "support/test_env.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace rayvid::test {
namespace fs = std::filesystem;
namespace {

#ifndef RAYVID_DEFAULT_SOURCE_DIR
#define RAYVID_DEFAULT_SOURCE_DIR ""
#endif
#ifndef RAYVID_DEFAULT_FIXTURES
#define RAYVID_DEFAULT_FIXTURES ""
#endif
#ifndef RAYVID_DEFAULT_CLI
#define RAYVID_DEFAULT_CLI ""
#endif

// The environment (ctest sets it), else the build's defaults (see tests/CMakeLists.txt).
fs::path from_env(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') value = fallback;
  if (value == nullptr || *value == '\0')
    throw std::runtime_error(std::string(name) + " is not set; run the tests through ctest");
  return fs::path(value);
}

}  // namespace

fs::path source_dir() { return from_env("RAYVID_SOURCE_DIR", RAYVID_DEFAULT_SOURCE_DIR); }
fs::path fixtures_dir() {
  const fs::path dir = from_env("RAYVID_FIXTURES", RAYVID_DEFAULT_FIXTURES);
  if (!fs::is_directory(dir))
    throw std::runtime_error(dir.string() +
                             " is missing; make it with scripts/reference/make_fixtures.py "
                             "(scripts/test does this)");
  return dir;
}
fs::path cli_path() { return from_env("RAYVID_CLI", RAYVID_DEFAULT_CLI); }

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "rayvid-tests" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string cli_command() { return "'" + cli_path().string() + "'"; }

std::string fixture_model_flag(const std::string& family) {
  return " --model '" + (fixtures_dir() / "models" / family).string() + "'";
}

}  // namespace rayvid::test
