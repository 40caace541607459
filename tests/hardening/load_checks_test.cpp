// Hardening items 4 and 13 (the loading side): wrong dtypes, components of another family and
// checkpoint mismatches are exit 3 with one line naming the component; config problems are named
// as config problems.
#include "hardening/hardening_support.h"

namespace rayvid::hardening {
namespace {

class LoadChecks : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::scratch_dir(std::string("hardening-load-") +
                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    model_ = copy_demo_model(dir_);
  }
  std::string generate() const {
    return small_generate(dir_) + " --quiet --model " + quoted(model_);
  }
  fs::path dir_, model_;
};

// F32 tensors relabelled I32 (same byte size, so the file is well-formed) ended in a matmul with
// "internal error" and a 24-line LibTorch stack trace.
TEST_F(LoadChecks, IntegerDtypeForAFloatWeightIsNamed) {
  const fs::path weights = model_ / "transformer" / "diffusion_pytorch_model.safetensors";
  std::ifstream in(weights, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(bytes[i]);
  std::string header = bytes.substr(8, header_len);
  size_t relabelled = 0;
  for (size_t at = header.find("\"F32\""); at != std::string::npos; at = header.find("\"F32\"", at))
    header.replace(at, 5, "\"I32\""), ++relabelled;
  ASSERT_GT(relabelled, 0u);
  write_text(weights, bytes.substr(0, 8) + header + bytes.substr(8 + header_len));
  expect_clean_error(generate(), 3, "is stored as Int, but it is a floating-point weight", dir_);
}

// A transformer of another family (Wan2.1, 16 latent channels) in a Wan2.2 TI2V folder (48): it
// ran to "latents: expected [B, 16, ...]" (exit 2, a bad *argument*).
TEST_F(LoadChecks, TransformerOfAnotherFamilyIsNamedAtOpen) {
  fs::remove_all(model_ / "transformer");
  fs::copy(test::fixtures_dir() / "models" / "wan21_t2v" / "transformer", model_ / "transformer",
           fs::copy_options::recursive);
  expect_clean_error(generate(), 3, "transformer/config.json: out_channels 16 does not fit", dir_);
  expect_clean_error(generate() + " --dry-run", 3, "different Wan families", dir_);
}

// A checkpoint that does not match its config printed 44 lines; now one, with --verbose for all.
TEST_F(LoadChecks, CheckpointMismatchIsOneLineAndVerboseListsEveryProblem) {
  auto config = read_json(model_ / "transformer" / "config.json");
  config["num_layers"] = config["num_layers"].get<int>() + 3;
  write_json(model_ / "transformer" / "config.json", config);
  expect_clean_error(generate(), 3, "checkpoint does not match the model config", dir_);
  const auto r = test::run_command(generate() + " --verbose");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_GT(count_lines(r.output), 10) << r.output;  // every missing tensor, at debug level
}

// `num_layers 1e9` said "try a smaller size": the config is the problem, and is named.
TEST_F(LoadChecks, AbsurdConfigValuesAreConfigErrors) {
  auto config = read_json(model_ / "transformer" / "config.json");
  config["num_layers"] = 1000000000;
  write_json(model_ / "transformer" / "config.json", config);
  expect_clean_error(generate(), 3, "transformer/config.json: num_layers is 1000000000", dir_);
  config["num_layers"] = 1e9;  // a float where an integer belongs
  write_json(model_ / "transformer" / "config.json", config);
  expect_clean_error(generate(), 3, "field 'num_layers' should be an integer", dir_);
}

// A negative flow_shift in the scheduler file was exit 2 (bad argument); a file problem is 3.
TEST_F(LoadChecks, SchedulerFileProblemsAreBadInput) {
  auto config = read_json(model_ / "scheduler" / "scheduler_config.json");
  config["flow_shift"] = -1;
  write_json(model_ / "scheduler" / "scheduler_config.json", config);
  expect_clean_error(generate(), 3, "scheduler_config.json: flow_shift -1", dir_);
}

}  // namespace
}  // namespace rayvid::hardening
