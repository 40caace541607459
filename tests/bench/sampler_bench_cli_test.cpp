// `rayvid bench --model` end to end on the bundled demo model: two samplers x two step counts at a
// small size produce the table, JSON, CSV, plot, videos and latents, and the quality columns are
// what the dumped latents and decoded videos say (recomputed here, independently).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/safetensors.h"
#include "support/test_env.h"

namespace {
namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

at::Tensor final_latents(const nlohmann::json& run) {
  return rayvid::io::SafetensorsFile::open(run.at("latents").get<std::string>())
      ->tensor("latents")
      .to(at::kDouble);
}

TEST(SamplerBenchCli, TwoSamplersTwoStepCountsOnTheDemoModel) {
  const fs::path out = rayvid::test::scratch_dir("sampler_bench_cli");
  const fs::path model = rayvid::test::source_dir() / "models" / "rayvid-tiny-ti2v";
  const auto run = rayvid::test::run_command(
      rayvid::test::cli_path().string() + " bench --model " + model.string() +
      " --samplers unipc,euler --steps 2,4 --width 64 --height 64 --frames 9 --seed 7 --quiet" +
      " --out " + out.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;

  // The terminal table: a header and one row per run, the reference marked.
  EXPECT_NE(run.output.find("s/step"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("unipc (ref)"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("euler"), std::string::npos) << run.output;

  std::ifstream json_in(out / "bench.json");
  const nlohmann::json j = nlohmann::json::parse(json_in);
  EXPECT_EQ(j.at("reference"), "unipc:4");  // the default sampler at the most steps
  EXPECT_EQ(j.at("shape").at("width"), 64);
  EXPECT_EQ(j.at("shape").at("frames"), 9);
  const auto& runs = j.at("runs");
  ASSERT_EQ(runs.size(), 4u);
  const nlohmann::json* reference = nullptr;
  for (const auto& r : runs)
    if (r.at("reference").get<bool>()) reference = &r;
  ASSERT_NE(reference, nullptr);
  const at::Tensor z_ref = final_latents(*reference);
  for (const auto& r : runs) {
    const std::string label = r.at("label");
    EXPECT_EQ(r.at("step_seconds").size(), r.at("steps").get<size_t>()) << label;
    EXPECT_EQ(r.at("timed_steps").get<int>(), r.at("steps").get<int>() - 1) << label;  // warm-up
    EXPECT_GT(r.at("seconds_per_step_median").get<double>(), 0) << label;
    EXPECT_GT(r.at("timings").at("vae_decode").get<double>(), 0) << label;
    EXPECT_GT(r.at("peak_memory_bytes").get<double>(), 0) << label;
    EXPECT_TRUE(fs::exists(r.at("video").get<std::string>())) << label;
    if (r.at("reference").get<bool>()) {
      EXPECT_TRUE(r.at("latent_rel_error").is_null()) << label;
      continue;
    }
    // Relative error of the final latent, recomputed from the dumps.
    const at::Tensor z = final_latents(r);
    const double expected = ((z - z_ref).norm() / z_ref.norm()).item<double>();
    EXPECT_GT(expected, 1e-4) << label;  // a different sampler or step count really differs
    EXPECT_NEAR(r.at("latent_rel_error").get<double>(), expected, 1e-9 + 1e-6 * expected) << label;
    EXPECT_GT(r.at("psnr_db").get<double>(), 5.0) << label;
    EXPECT_GT(r.at("ssim").get<double>(), -1.0) << label;
    EXPECT_LE(r.at("ssim").get<double>(), 1.0) << label;
  }

  // CSV: a header and one line per run; the plot is a real PNG drawn by matplotlib.
  const std::string csv = read_text(out / "bench.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5) << csv;
  EXPECT_EQ(csv.rfind("label,sampler,steps", 0), 0u) << csv;
  const std::string png = read_text(out / "bench.png");
  ASSERT_GT(png.size(), 10000u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
}

}  // namespace
