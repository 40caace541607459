// JSON configs: missing and mistyped fields are errors naming the file and the field.
#include "io/json_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/test_env.h"

namespace rayvid::io {
namespace {

JsonFile sample() {
  return JsonFile::from_json(nlohmann::json::parse(R"({"num_layers": 30, "eps": 1e-6,
      "name": "wan", "flag": true, "dims": [1, 2], "nothing": null})"),
                             "transformer/config.json");
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const rayvid::Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
    return e.what();
  }
  return "";
}

TEST(JsonFile, ReadsTypedFields) {
  const auto f = sample();
  EXPECT_EQ(f.require<int64_t>("num_layers"), 30);
  EXPECT_DOUBLE_EQ(f.require<double>("eps"), 1e-6);
  EXPECT_EQ(f.require<std::string>("name"), "wan");
  EXPECT_TRUE(f.require<bool>("flag"));
  EXPECT_EQ(f.require<std::vector<int>>("dims"), (std::vector<int>{1, 2}));
  EXPECT_EQ(f.get_or<int64_t>("absent", 7), 7);
  EXPECT_EQ(f.get_or<int64_t>("nothing", 7), 7);  // null counts as absent
  EXPECT_FALSE(f.get_optional<double>("absent").has_value());
}

TEST(JsonFile, ErrorsNameFileAndField) {
  const auto f = sample();
  EXPECT_EQ(error_of([&] { f.require<int64_t>("heads"); }),
            "transformer/config.json: missing field 'heads'");
  EXPECT_EQ(error_of([&] { f.require<int64_t>("name"); }),
            "transformer/config.json: field 'name' should be an integer, got string");
  EXPECT_EQ(error_of([&] { f.require<int64_t>("eps"); }),
            "transformer/config.json: field 'eps' should be an integer, got number");
  EXPECT_EQ(error_of([&] { f.get_or<std::string>("num_layers", ""); }),
            "transformer/config.json: field 'num_layers' should be a string, got number");
  EXPECT_NE(error_of([&] { f.require<std::vector<int>>("name"); }).find("'name'"),
            std::string::npos);
}

TEST(JsonFile, LoadRejectsBrokenFiles) {
  const auto dir = test::scratch_dir("json_file");
  std::ofstream(dir / "bad.json") << "{\"a\": ";
  std::ofstream(dir / "array.json") << "[1, 2]";
  EXPECT_NE(error_of([&] { JsonFile::load(dir / "bad.json"); }).find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of([&] { JsonFile::load(dir / "array.json"); }).find("got array"),
            std::string::npos);
  EXPECT_NE(error_of([&] { JsonFile::load(dir / "none.json"); }).find("cannot read"),
            std::string::npos);
}

}  // namespace
}  // namespace rayvid::io
