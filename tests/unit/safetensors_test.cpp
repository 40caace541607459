// safetensors: zero-copy loading, every dtype, the format's validation rules, sharded checkpoints,
// and the refusal of pickle files.
#include "io/safetensors.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>

#include "rayvid/error.h"
#include "support/safetensors_builder.h"
#include "support/test_env.h"

namespace rayvid::io {
namespace {
namespace fs = std::filesystem;
using test::safetensors_bytes;

fs::path write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// Expects parse failure whose message contains `needle`.
void expect_rejected(const std::string& bytes, const std::string& needle) {
  try {
    parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "f.st");
    ADD_FAILURE() << "accepted a file that breaks: " << needle;
  } catch (const rayvid::Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("f.st"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, LoadsValuesZeroCopy) {
  const auto dir = test::scratch_dir("safetensors_load");
  const auto path = write_bytes(dir / "m.safetensors", test::valid_safetensors());
  auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file->header().metadata.at("format"), "pt");
  at::Tensor a = file->tensor("a");
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(a, at::arange(6, at::kFloat).reshape({2, 3})));
  at::Tensor b = file->tensor("b");
  EXPECT_EQ(b.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(b.to(at::kFloat), at::ones({4})));
  file.reset();  // tensors keep the mapping alive
  EXPECT_FLOAT_EQ(a[1][2].item<float>(), 5.0f);
  a.add_(1);  // copy-on-write: the file on disk is unchanged
  EXPECT_TRUE(at::equal(SafetensorsFile::open(path)->tensor("a"),
                        at::arange(6, at::kFloat).reshape({2, 3})));
}

TEST(Safetensors, EveryDTypeMapsToATen) {
  const std::pair<const char*, at::ScalarType> cases[] = {
      {"F64", at::kDouble}, {"F32", at::kFloat},   {"F16", at::kHalf},
      {"BF16", at::kBFloat16}, {"F8_E4M3", at::kFloat8_e4m3fn}, {"F8_E5M2", at::kFloat8_e5m2},
      {"I64", at::kLong},   {"I32", at::kInt},     {"I16", at::kShort},
      {"I8", at::kChar},    {"U8", at::kByte},     {"BOOL", at::kBool}};
  const auto dir = test::scratch_dir("safetensors_dtypes");
  for (const auto& [name, scalar] : cases) {
    const size_t size = at::elementSize(scalar);
    const std::string header = std::string(R"({"t":{"dtype":")") + name +
                               R"(","shape":[3],"data_offsets":[0,)" + std::to_string(3 * size) +
                               "]}}";
    const auto path = write_bytes(dir / (std::string(name) + ".safetensors"),
                                  safetensors_bytes(header, std::string(3 * size, '\0')));
    const auto t = SafetensorsFile::open(path)->tensor("t");
    EXPECT_EQ(t.scalar_type(), scalar) << name;
    EXPECT_EQ(t.numel(), 3) << name;
  }
}

TEST(Safetensors, RejectsEachFormatViolation) {
  const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  expect_rejected("1234", "too short");
  expect_rejected(safetensors_bytes("{}", "").substr(0, 7), "too short");
  {
    std::string huge = safetensors_bytes("{}", "");
    huge[4] = 0x10;  // header length ~ 68 GB
    expect_rejected(huge, "100 MB");
  }
  {
    std::string past = safetensors_bytes("{}", "");
    past[0] = 50;
    expect_rejected(past, "runs past the end");
  }
  expect_rejected(safetensors_bytes("[1]", ""), "must be a JSON object");
  expect_rejected(safetensors_bytes("{\"a\":", ""), "not valid UTF-8 JSON");
  expect_rejected(safetensors_bytes("{\"\xff\xfe\":1}", ""), "not valid UTF-8 JSON");
  expect_rejected(safetensors_bytes("{" + ok_entry + "," + ok_entry + "}", std::string(8, 0)),
                  "names 'a' twice");
  expect_rejected(safetensors_bytes(R"({"__metadata__":{"k":1}})", ""), "must be a string");
  expect_rejected(safetensors_bytes(R"({"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}})",
                                    std::string(8, 0)),
                  "unsupported dtype 'C64'");
  expect_rejected(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                                    std::string(8, 0)),
                  "need 12");
  expect_rejected(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})",
                                    std::string(8, 0)),
                  "non-negative integer");
  expect_rejected(
      safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,8]}})",
                        std::string(8, 0)),
      "overflows");
  // Hole between tensors, overlap, and a buffer longer than the tensors.
  expect_rejected(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                    std::string(8, 0)),
                  "contiguous");
  expect_rejected(
      safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                        std::string(12, 0)),
      "contiguous");
  expect_rejected(safetensors_bytes("{" + ok_entry + "}", std::string(9, 0)), "holds 9");
  expect_rejected(safetensors_bytes("{" + ok_entry + "}", std::string(7, 0)), "holds 7");
  expect_rejected(
      safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})",
                        std::string(8, 0)),
      "unknown field 'x'");
}

TEST(Safetensors, ShardedIndexCombinesShards) {
  const auto dir = test::scratch_dir("safetensors_sharded");
  write_bytes(dir / "m-00001-of-00002.safetensors",
              safetensors_bytes(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                std::string(4, 0)));
  write_bytes(dir / "m-00002-of-00002.safetensors",
              safetensors_bytes(R"({"y":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                std::string(8, 0)));
  std::ofstream(dir / "m.safetensors.index.json")
      << R"({"metadata":{},"weight_map":{"x":"m-00001-of-00002.safetensors","y":"m-00002-of-00002.safetensors"}})";
  const auto store = WeightStore::open_folder(dir);
  EXPECT_EQ(store.names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(store.tensor("y").numel(), 2);
  EXPECT_EQ(store.files().size(), 2u);

  // An index that points at the wrong shard is an error naming the tensor.
  std::ofstream(dir / "m.safetensors.index.json", std::ios::trunc)
      << R"({"weight_map":{"x":"m-00002-of-00002.safetensors","y":"m-00002-of-00002.safetensors"}})";
  try {
    WeightStore::open_folder(dir);
    FAIL() << "accepted an index that names the wrong shard";
  } catch (const rayvid::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, RefusesPickleCheckpointsWithConversionHint) {
  const auto dir = test::scratch_dir("safetensors_pickle");
  write_bytes(dir / "diffusion_pytorch_model.bin", "not read");
  try {
    WeightStore::open_folder(dir);
    FAIL() << "opened a pickle checkpoint";
  } catch (const rayvid::Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
    EXPECT_NE(std::string(e.what()).find("save_file"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SafetensorsFile::open(dir / "diffusion_pytorch_model.bin"), rayvid::Error);
  EXPECT_THROW(WeightStore::open_folder(dir / "missing"), rayvid::Error);
}

}  // namespace
}  // namespace rayvid::io
