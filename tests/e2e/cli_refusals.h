// Table-driven refusals of `rayvid generate`: each case must exit with its code, print one line
// containing its needle, and leave neither the MP4 nor its sidecar.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "support/test_env.h"

namespace rayvid::test {

struct Refusal {
  std::string name, args;
  int exit_code;
  std::string needle;
};

struct CliRun {
  CommandResult result;
  std::filesystem::path dir;  // where out.mp4 would have gone
};

inline void expect_refusals(
    const std::vector<Refusal>& cases,
    const std::function<CliRun(const std::string& name, const std::string& args)>& generate) {
  for (const auto& c : cases) {
    const auto [r, dir] = generate(c.name, c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.name << ": " << r.output;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << c.name << ": " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << c.name << ": " << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir / "out.mp4")) << c.name;
    EXPECT_FALSE(std::filesystem::exists(dir / "out.json")) << c.name;
  }
}

}  // namespace rayvid::test
