// Golden tensors from the Python reference (diffusers/transformers) and the relative-error
// comparison every parity test uses: ||out - ref|| / ||ref||, with the worst elements printed on
// failure.
#pragma once

#include <ATen/core/Tensor.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "io/json_file.h"
#include "io/safetensors.h"

namespace rayvid::test {

double relative_error(const at::Tensor& out, const at::Tensor& ref);

// gtest assertion: EXPECT_TRUE(close_to(out, ref, 1e-4)) prints shapes, the relative error and
// the five worst elements with their indices when it fails.
::testing::AssertionResult close_to(const at::Tensor& out, const at::Tensor& ref, double max_rel);

// One family's golden folder: <fixtures>/golden/<family>/ with manifest.json and *.safetensors.
class GoldenSet {
 public:
  explicit GoldenSet(const std::string& family);    // fixtures/golden/<family>
  static GoldenSet extra(const std::string& name);  // fixtures/golden_extra/<name>
  const io::JsonFile& manifest() const { return manifest_; }
  const std::filesystem::path& dir() const { return dir_; }
  // A tensor by name from the given golden file (fp32 copy, detached from the mapping).
  at::Tensor tensor(const std::string& file, const std::string& name) const;
  io::WeightStore open(const std::string& file) const;

 private:
  struct Dir {
    std::filesystem::path path;
  };
  explicit GoldenSet(Dir dir);
  std::filesystem::path dir_;
  io::JsonFile manifest_;
};

}  // namespace rayvid::test
