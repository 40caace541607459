// Shared helpers of the hardening suite: the CLI, a scratch copy of the demo model with one change,
// and the README's error contract (one line on stderr, a given exit code, no output left behind).
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/test_env.h"

namespace rayvid::hardening {
namespace fs = std::filesystem;

inline std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }
inline std::string cli() { return quoted(test::cli_path()); }
inline fs::path demo_model() { return test::source_dir() / "models" / "rayvid-tiny-ti2v"; }

// A writable copy of the demo model (4.5 MB) under `dir`, to break one thing in.
inline fs::path copy_demo_model(const fs::path& dir) {
  const fs::path copy = dir / "model";
  fs::copy(demo_model(), copy, fs::copy_options::recursive);
  return copy;
}

inline nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}
inline void write_json(const fs::path& path, const nlohmann::json& value) {
  std::ofstream(path) << value.dump(2);
}
inline void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The shorthand `G` of the issue: a 64x64x5, 2-step generation into `dir`/out.mp4.
inline std::string small_generate(const fs::path& dir) {
  return cli() +
         " generate --prompt 'a cat' --width 64 --height 64 --frames 5 --steps 2 --output " +
         quoted(dir / "out.mp4");
}

inline int count_lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// Runs `command` with stdout discarded: stderr must be exactly one line containing `needle`, the
// exit code `code`, and `dir` (if given) must hold no file named out.* or .out.*.
inline void expect_clean_error(const std::string& command, int code, const std::string& needle,
                               const fs::path& dir = {}) {
  // Braces: run_command appends 2>&1, which after a bare >/dev/null would discard stderr too.
  const auto r = test::run_command("{ " + command + " >/dev/null; }");
  EXPECT_EQ(r.exit_code, code) << command << "\n" << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << command << "\n" << r.output;
  EXPECT_EQ(count_lines(r.output), 1) << "not one line:\n" << r.output;
  if (!dir.empty() && fs::is_directory(dir)) {
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      EXPECT_FALSE(name.rfind("out.", 0) == 0 || name.rfind(".out.", 0) == 0)
          << "left behind: " << e.path();
    }
  }
}

}  // namespace rayvid::hardening
