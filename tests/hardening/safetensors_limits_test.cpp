// Hardening: safetensors headers at the size limits. A header of many small tensors must parse in
// time linear in its size (the DOM callback parser took minutes for 80,000 tensors), duplicate
// names stay refused at every depth, and `rayvid inspect` lists such a file promptly.
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <string>

#include "hardening/hardening_support.h"
#include "io/safetensors_format.h"
#include "rayvid/error.h"
#include "support/safetensors_builder.h"

namespace rayvid::hardening {
namespace {

using io::parse_safetensors;
using test::safetensors_bytes;

// A file of one-byte U8 tensors t0000000, t0000001, ... laid out contiguously: `count` of them, or
// fewer if the header would pass `header_limit` bytes.
std::string tiny_tensors_file(size_t count, size_t header_limit = io::kMaxHeaderBytes) {
  std::string header = "{";
  header.reserve(std::min<size_t>(header_limit, count * 72));
  size_t n = 0;
  for (; n < count; ++n) {
    const std::string entry =
        fmt::format(R"({}"t{:07}":{{"dtype":"U8","shape":[1],"data_offsets":[{},{}]}})",
                    n == 0 ? "" : ",", n, n, n + 1);
    if (header.size() + entry.size() + 1 > header_limit) break;
    header += entry;
  }
  header += "}";
  return safetensors_bytes(header, std::string(n, '\x01'));
}

// Seconds that parse_safetensors takes on `bytes`; it must accept them with `tensors` tensors.
double parse_seconds(const std::string& bytes, size_t tensors) {
  const auto start = std::chrono::steady_clock::now();
  const auto header =
      parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "many");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(header.tensors.size(), tensors);
  if (!header.tensors.empty()) {
    EXPECT_EQ(header.tensors.back().name, fmt::format("t{:07}", tensors - 1));
  }
  return seconds;
}

std::string rejection(const std::string& bytes) {
  try {
    parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "dup");
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
    return e.what();
  }
  return "accepted";
}

// The case of the issue: 80,000 tensors, a 5 MB header. Measured on a shared 2-core machine: the
// old callback parser took 3 s for 20,000 tensors and 47 s for 80,000 (quadratic); the streaming
// parser takes 0.15 s.
TEST(SafetensorsLimits, EightyThousandTensorsParseFast) {
  const std::string bytes = tiny_tensors_file(80'000);
  const double seconds = parse_seconds(bytes, 80'000);
  EXPECT_LT(seconds, 5.0) << "80,000-tensor header took " << seconds << " s";
}

// A header just under the 100 MB cap, of 1.43 million tiny tensors, built in memory. Measured on
// a shared 2-core machine (-O3): 3.6 s to parse, 0.5 GB peak. The bound leaves room for a slow
// runner and is far below the hours the quadratic parser would need.
TEST(SafetensorsLimits, HundredMegabyteHeaderParsesInSeconds) {
  const std::string bytes = tiny_tensors_file(10'000'000);
  const size_t tensors = static_cast<size_t>(
      std::count(bytes.begin() + 8, bytes.end(), '\x01'));  // one data byte per tensor
  ASSERT_GT(bytes.size() - 8 - tensors, io::kMaxHeaderBytes - 100);
  ASSERT_LE(bytes.size() - 8 - tensors, io::kMaxHeaderBytes);
  const double seconds = parse_seconds(bytes, tensors);
  EXPECT_LT(seconds, 30.0) << "100 MB header (" << tensors << " tensors) took " << seconds << " s";
}

TEST(SafetensorsLimits, DuplicateNamesRefusedAtEveryDepth) {
  const std::string a = R"("a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]})";
  const std::string b = R"("b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]})";
  // Top level, adjacent and far apart.
  EXPECT_NE(rejection(safetensors_bytes("{" + a + "," + a + "}", "\x01")).find("names 'a' twice"),
            std::string::npos);
  EXPECT_NE(rejection(safetensors_bytes("{" + a + "," + b + "," + a + "}", "\x01\x01"))
                .find("names 'a' twice"),
            std::string::npos);
  // Inside an entry: nlohmann alone would keep the second dtype silently.
  EXPECT_NE(rejection(safetensors_bytes(
                          R"({"a":{"dtype":"F32","dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
                          "\x01"))
                .find("names 'dtype' twice"),
            std::string::npos);
  // Inside __metadata__, and __metadata__ itself twice.
  EXPECT_NE(rejection(safetensors_bytes(R"({"__metadata__":{"k":"1","k":"2"},)" + a + "}", "\x01"))
                .find("names 'k' twice"),
            std::string::npos);
  EXPECT_NE(
      rejection(safetensors_bytes(R"({"__metadata__":{},)" + a + R"(,"__metadata__":{}})", "\x01"))
          .find("names '__metadata__' twice"),
      std::string::npos);
  // The same names in different objects are no duplicates.
  EXPECT_EQ(
      rejection(safetensors_bytes(R"({"__metadata__":{"a":"x"},)" + a + "," + b + "}", "\x01\x01")),
      "accepted");
}

// Deep nesting fails fast instead of building millions of containers (a valid header nests three
// deep; this one would be refused by entry validation anyway, after the whole build).
TEST(SafetensorsLimits, DeepNestingRefusedEarly) {
  const size_t depth = 5'000'000;
  const std::string header = R"({"a":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_NE(rejection(safetensors_bytes(header, "")).find("nests deeper"), std::string::npos);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
}

// Through the CLI: the loader and inspect's listing are linear too (they were, but only the CLI
// shows it end to end). `timeout` turns a regression into a failure instead of a stuck suite.
TEST(SafetensorsLimits, InspectListsEightyThousandTensors) {
  const auto dir = test::scratch_dir("hardening_safetensors_limits_inspect");
  const fs::path file = dir / "many.safetensors";
  write_text(file, tiny_tensors_file(80'000));
  const auto start = std::chrono::steady_clock::now();
  const auto r = test::run_command("timeout 120 " + cli() + " inspect " + quoted(file) + " > " +
                                   quoted(dir / "listing.txt"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::ifstream listing(dir / "listing.txt");
  std::string line;
  int tensor_lines = 0;
  bool summary = false;
  while (std::getline(listing, line)) {
    tensor_lines += line.find(" U8 ") != std::string::npos;
    summary = summary || line.find("80000 tensors") != std::string::npos;
  }
  EXPECT_EQ(tensor_lines, 80'000);
  EXPECT_TRUE(summary) << "no '80000 tensors' summary line";
  EXPECT_LT(seconds, 30.0) << "rayvid inspect took " << seconds << " s";
}

}  // namespace
}  // namespace rayvid::hardening
