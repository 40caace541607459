// Hardening item 14: `rayvid inspect` exited 0 on 45 broken model folders. It now validates what it
// prints (configs, the components against each other, every checkpoint against its config) and
// exits 3 with the problems: the listing on stdout with a `problem:` line each, one line on stderr.
#include "hardening/hardening_support.h"

namespace rayvid::hardening {
namespace {

using nlohmann::json;

struct Breakage {
  std::string name;
  std::function<void(const fs::path& model)> apply;
  std::string needle;  // in the one-line error
};

void edit(const fs::path& file, const std::function<void(json&)>& change) {
  json config = read_json(file);
  change(config);
  write_json(file, config);
}

std::vector<Breakage> breakages() {
  return {
      {"zero patch size",
       [](const fs::path& m) {
         edit(m / "transformer/config.json", [](json& c) { c["patch_size"] = {1, 0, 0}; });
       },
       "patch_size"},
      {"short patch size",
       [](const fs::path& m) {
         edit(m / "transformer/config.json", [](json& c) { c["patch_size"] = {1}; });
       },
       "patch_size"},
      {"zero VAE stride",
       [](const fs::path& m) {
         edit(m / "vae/config.json", [](json& c) { c["scale_factor_spatial"] = 0; });
       },
       "scale_factor_spatial"},
      {"negative umT5 width",
       [](const fs::path& m) {
         edit(m / "text_encoder/config.json", [](json& c) { c["d_model"] = -4; });
       },
       "d_model"},
      {"negative flow shift",
       [](const fs::path& m) {
         edit(m / "scheduler/scheduler_config.json", [](json& c) { c["flow_shift"] = -1; });
       },
       "flow_shift"},
      {"more layers than the checkpoint",
       [](const fs::path& m) {
         edit(m / "transformer/config.json", [](json& c) { c["num_layers"] = 5; });
       },
       "checkpoint does not match the model config"},
      {"wider VAE than the checkpoint",
       [](const fs::path& m) { edit(m / "vae/config.json", [](json& c) { c["base_dim"] = 16; }); },
       "checkpoint does not match the model config"},
      {"another family's transformer",
       [](const fs::path& m) {
         fs::remove_all(m / "transformer");
         fs::copy(test::fixtures_dir() / "models" / "wan21_t2v" / "transformer", m / "transformer",
                  fs::copy_options::recursive);
       },
       "different Wan families"},
      {"integer weights",
       [](const fs::path& m) {
         const fs::path w = m / "vae" / "diffusion_pytorch_model.safetensors";
         std::ifstream in(w, std::ios::binary);
         std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
         in.close();
         const auto at = bytes.find("\"F32\"");
         bytes.replace(at, 5, "\"I32\"");
         write_text(w, bytes);
       },
       "is stored as I32"},
  };
}

TEST(Inspect, BrokenFoldersExit3WithTheProblems) {
  const fs::path dir = test::scratch_dir("hardening-inspect");
  const auto cases = breakages();
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& b = cases[i];
    SCOPED_TRACE(b.name);
    const fs::path case_dir = dir / std::to_string(i);
    fs::create_directories(case_dir);
    const fs::path model = copy_demo_model(case_dir);
    b.apply(model);
    expect_clean_error(cli() + " inspect " + quoted(model), 3, b.needle);
    const auto listing = test::run_command(cli() + " inspect " + quoted(model) + " 2>/dev/null");
    EXPECT_NE(listing.output.find("problem: "), std::string::npos) << listing.output;
  }
}

TEST(Inspect, SoundFoldersStillPass) {
  for (const fs::path& model : {demo_model(), test::fixtures_dir() / "models" / "wan21_i2v",
                                test::fixtures_dir() / "models" / "wan22_a14b"}) {
    const auto r = test::run_command(cli() + " inspect " + quoted(model));
    EXPECT_EQ(r.exit_code, 0) << model << "\n" << r.output;
    EXPECT_NE(r.output.find("checked: every config valid"), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace rayvid::hardening
