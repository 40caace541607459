// Plot scripts through the venv's python, with shell-quoted arguments.
#include "apps/plot_runner.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace rayvid::apps {
namespace {

std::string quote(const std::string& s) {
  std::string out(1, '\'');
  for (char c : s) {
    if (c == '\'') {
      out.append("'\\''");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

}  // namespace

bool run_plot_script(const std::string& script, const std::vector<std::string>& args) {
  const std::string python = env_or("RAYVID_PYTHON", RAYVID_PLOT_PYTHON);
  const std::filesystem::path path =
      std::filesystem::path(env_or("RAYVID_PLOT_DIR", RAYVID_PLOT_DIR)) / script;
  if (python.empty() || !std::filesystem::exists(python)) {
    std::fprintf(stderr, "rayvid: plots skipped: no python with matplotlib (set RAYVID_PYTHON)\n");
    return false;
  }
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "rayvid: plots skipped: %s not found (set RAYVID_PLOT_DIR)\n",
                 path.c_str());
    return false;
  }
  std::string command = quote(python) + " " + quote(path.string());
  for (const auto& a : args) {
    command.push_back(' ');
    command.append(quote(a));
  }
  const int status = std::system(command.c_str());
  if (status != 0) {
    std::fprintf(stderr, "rayvid: plots skipped: %s failed (status %d)\n", script.c_str(), status);
    return false;
  }
  return true;
}

}  // namespace rayvid::apps
