// Where tests find the repository, the generated fixtures and the rayvid CLI, and scratch space.
#pragma once

#include <filesystem>
#include <string>

namespace rayvid::test {

std::filesystem::path source_dir();  // RAYVID_SOURCE_DIR
std::filesystem::path
fixtures_dir();                    // RAYVID_FIXTURES (made by scripts/reference/make_fixtures.py)
std::filesystem::path cli_path();  // RAYVID_CLI
// Shell-ready pieces of a CLI command: the quoted CLI path, and " --model '<fixtures>/models/F'".
std::string cli_command();
std::string fixture_model_flag(const std::string& family);
// A fresh empty folder for this test, removed at the start of the next run.
std::filesystem::path scratch_dir(const std::string& name);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
// Runs a shell command and captures its output (tests only).
CommandResult run_command(const std::string& command);

}  // namespace rayvid::test
