// The sampler benchmark's bookkeeping on synthetic GenerateResults: case parsing, warm-up
// exclusion, table/JSON/CSV, quality against a reference from real files, and the round trip into
// `bench --plan --measured`.
#include <gtest/gtest.h>

#include <fstream>

#include <ATen/ATen.h>

#include "engine/provenance.h"
#include "io/video.h"
#include "rayvid/error.h"
#include "support/test_env.h"
#include "support/test_mp4.h"
#include "tools/bench/plan_report.h"
#include "tools/bench/sampler_bench.h"

namespace rayvid::tools::bench {
namespace {
namespace fs = std::filesystem;

GenerateResult synthetic(std::vector<double> steps, double decode) {
  GenerateResult r;
  r.width = 64;
  r.height = 48;
  r.frames = 5;
  r.step_seconds = std::move(steps);
  double denoise = 0;
  for (double s : r.step_seconds) denoise += s;
  r.timings.denoise = denoise;
  r.timings.vae_decode = decode;
  r.timings.text_encode = 0.25;
  r.timings.mux = 0.25;
  r.timings.total = denoise + decode + 0.5;
  r.peak_memory_bytes = 3.5e9;
  return r;
}

TEST(SamplerCases, GridAndReference) {
  const auto cases = parse_cases("unipc,euler", "4,8");
  ASSERT_EQ(cases.size(), 4u);
  EXPECT_EQ(cases[0].label(), "unipc:4");
  EXPECT_EQ(cases[3].label(), "euler:8");
  EXPECT_EQ(parse_reference("", cases).label(), "unipc:8");  // default sampler, most steps
  EXPECT_EQ(parse_reference("dpm++:30", cases).label(), "dpm++:30");
  EXPECT_THROW(parse_cases("ddim", "4"), Error);
  EXPECT_THROW(parse_cases("unipc", "4,x"), Error);
  EXPECT_THROW(parse_cases("unipc", "0"), Error);
  EXPECT_THROW(parse_reference("unipc", cases), Error);
}

// --caches: one case per METHOD:THRESHOLD at the reference's sampler and steps; DiT forwards count
// one per branch and step, and a step whose blocks were reused counts as reused.
TEST(SamplerCases, CacheCasesAndForwardCounts) {
  const SamplerCase ref{"unipc", 50, "", 0};
  const auto caches = parse_cache_cases("magcache:0.12,teacache:0.08", ref);
  ASSERT_EQ(caches.size(), 2u);
  EXPECT_EQ(caches[0].label(), "unipc:50+magcache:0.12");
  EXPECT_EQ(caches[1].cache, "teacache");
  EXPECT_DOUBLE_EQ(caches[1].cache_threshold, 0.08);
  EXPECT_FALSE(caches[0] == ref);
  EXPECT_THROW(parse_cache_cases("magcache", ref), Error);
  EXPECT_THROW(parse_cache_cases("magcache:x", ref), Error);
  EXPECT_THROW(parse_cache_cases("magcache:-1", ref), Error);
  GenerateResult result;
  result.steps = 4;
  result.guided_steps = 3;  // --guidance-until: the last step has one branch
  result.cache_steps = {true, false, true, false};
  const SamplerRecord r = make_record(caches[0], result);
  EXPECT_EQ(r.dit_forwards, 2 + 2);     // steps 0 and 2, both guided
  EXPECT_EQ(r.forwards_reused, 2 + 1);  // step 1 guided, step 3 not
}

TEST(StepStats, FirstStepIsWarmUp) {
  // 3.0 s warm-up, then 1.0, 1.2, 0.9 -> median 1.0, min 0.9, max 1.2, spread 0.3.
  const StepStats s = step_stats({3.0, 1.0, 1.2, 0.9});
  EXPECT_EQ(s.timed_steps, 3);
  EXPECT_DOUBLE_EQ(s.median, 1.0);
  EXPECT_DOUBLE_EQ(s.min, 0.9);
  EXPECT_DOUBLE_EQ(s.max, 1.2);
  EXPECT_NEAR(s.spread, 0.3, 1e-12);
  EXPECT_DOUBLE_EQ(step_stats({2.0, 1.0, 3.0, 5.0, 4.0}).median,
                   3.5);                        // even count: mean of middle
  EXPECT_EQ(step_stats({2.5}).timed_steps, 1);  // a single step is all there is
  EXPECT_DOUBLE_EQ(step_stats({2.5}).median, 2.5);
  EXPECT_EQ(step_stats({}).timed_steps, 0);
}

TEST(SamplerReport, TableJsonCsv) {
  SamplerRecord ref = make_record({"unipc", 8, "", 0}, synthetic({2, 1, 1, 1, 1, 1, 1, 1}, 0.7));
  ref.is_reference = true;
  SamplerRecord fast = make_record({"euler", 4, "", 0}, synthetic({2, 0.5, 0.6, 0.7}, 0.7));
  fast.latent_rel_error = 0.125;
  fast.psnr = 31.5;
  fast.ssim = 0.93;
  const std::vector<SamplerRecord> records = {ref, fast};

  const std::string table = format_sampler_table(records);
  EXPECT_NE(table.find("unipc (ref)"), std::string::npos) << table;
  EXPECT_NE(table.find("1.25e-01"), std::string::npos) << table;
  EXPECT_NE(table.find("31.50"), std::string::npos) << table;

  SamplerBenchMeta meta;
  meta.reference = ref.which;
  meta.seed = 42;
  const nlohmann::json j = sampler_json(meta, records);
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["reference"], "unipc:8");
  EXPECT_EQ(j["runs"][1]["label"], "euler:4");
  EXPECT_DOUBLE_EQ(j["runs"][1]["seconds_per_step_median"].get<double>(), 0.6);
  EXPECT_EQ(j["runs"][1]["timed_steps"], 3);
  EXPECT_TRUE(j["runs"][0]["psnr_db"].is_null());
  EXPECT_DOUBLE_EQ(j["runs"][1]["ssim"].get<double>(), 0.93);

  const std::string csv = sampler_csv(records);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
  EXPECT_NE(csv.find("\nunipc:8,unipc,8,1,1,1,1,0.25,0,9,0.7,0.25,10.2,3.5,,,,,0,0,,,\n"),
            std::string::npos)
      << csv;
  EXPECT_NE(
      csv.find(
          "\neuler:4,euler,4,0,0.6,0.5,0.7,0.25,0,3.8,0.7,0.25,5,3.5,0.125,31.5,0.93,,0,0,,,\n"),
      std::string::npos)
      << csv;

  // The JSON feeds `rayvid bench --plan --measured`: the matching run's median step.
  const fs::path file = rayvid::test::scratch_dir("sampler_report") / "bench.json";
  std::ofstream(file) << j.dump(2);
  const MeasuredRun m = read_measured_run(file, "euler:4");
  EXPECT_DOUBLE_EQ(m.seconds_per_step, 0.6);
  EXPECT_NEAR(m.total_seconds, 5.0, 1e-9);
}

// --expect-motion: parsing, the match and the angle to the expected direction, and the columns.
TEST(SamplerReport, ExpectedMotion) {
  const ExpectedMotion left = parse_expected_motion("red:left");
  EXPECT_EQ(left.direction, "left");
  EXPECT_EQ(left.colour.name, "red");
  EXPECT_EQ(parse_expected_motion("#28be3c:down").direction, "down");
  EXPECT_THROW(parse_expected_motion("red"), Error);
  EXPECT_THROW(parse_expected_motion("red:sideways"), Error);
  EXPECT_THROW(parse_expected_motion("teal:left"), Error);

  analysis::ObjectTrack t;
  t.colour = left.colour;
  t.found_frames = 17;
  t.frames.resize(17);
  t.dx = -30, t.dy = 30, t.direction = "left";  // 45 degrees off, still mostly left
  MotionCheck m = check_motion(t, left);
  EXPECT_TRUE(m.matches);
  EXPECT_NEAR(*m.angle_error_deg, 45, 1e-9);
  t.dx = 10, t.dy = -40, t.direction = "up";
  m = check_motion(t, parse_expected_motion("red:down"));
  EXPECT_FALSE(m.matches);
  EXPECT_NEAR(*m.angle_error_deg, 180 - std::atan(10.0 / 40) * 180 / M_PI, 1e-9);
  t.direction = "not found";
  EXPECT_FALSE(check_motion(t, left).angle_error_deg.has_value());

  SamplerRecord r = make_record({"euler", 4, "", 0}, synthetic({1, 1}, 0.5));
  t.dx = -32, t.dy = 0, t.direction = "left";
  r.motion = check_motion(t, left);
  EXPECT_NE(format_sampler_table({r}).find("left ok"), std::string::npos);
  const nlohmann::json j = sampler_json({}, {r});
  EXPECT_EQ(j["runs"][0]["motion"]["direction"], "left");
  EXPECT_EQ(j["runs"][0]["motion"]["matches"], true);
  EXPECT_DOUBLE_EQ(j["runs"][0]["motion"]["angle_error_deg"].get<double>(), 0);
  EXPECT_NE(sampler_csv({r}).find(",left,1,0\n"), std::string::npos) << sampler_csv({r});
}

TEST(MeasuredRun, FromAGenerateSidecarAndBadFiles) {
  const fs::path dir = rayvid::test::scratch_dir("measured_run");
  std::ofstream(dir / "sidecar.json")
      << R"({"step_seconds": [4.0, 1.0, 3.0, 2.0], "timings": {"total": 12.5}})";
  const MeasuredRun m = read_measured_run(dir / "sidecar.json");
  EXPECT_DOUBLE_EQ(m.seconds_per_step, 2.0);  // median of 1, 3, 2 (warm-up 4.0 dropped)
  EXPECT_DOUBLE_EQ(m.total_seconds, 12.5);
  std::ofstream(dir / "other.json") << R"({"hello": 1})";
  try {
    read_measured_run(dir / "other.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kBadInput);
    EXPECT_NE(std::string(e.what()).find("step_seconds"), std::string::npos) << e.what();
  }
}

// Quality against the reference from real files: latents as the engine dumps them and MP4s.
TEST(SamplerQuality, LatentErrorAndVideoPsnrFromFiles) {
  const fs::path dir = rayvid::test::scratch_dir("sampler_quality");
  const at::Tensor z_ref = at::ones({1, 4, 2, 6, 8});  // [1, z, T, h, w]
  const at::Tensor z = z_ref * 1.1;                    // 10% off everywhere
  engine::write_safetensors(dir / "ref.safetensors", {{"latents", z_ref}, {"prediction", z_ref}});
  engine::write_safetensors(dir / "run.safetensors", {{"latents", z}, {"prediction", z}});

  io::VideoFrames video{64, 48, 5, std::vector<uint8_t>(64 * 48 * 3 * 5)};
  for (size_t i = 0; i < video.rgb.size(); ++i)
    video.rgb[i] = static_cast<uint8_t>(60 + (i / 3 % 64) * 2);
  io::write_mp4(dir / "ref.mp4", video, rayvid::test::test_mp4_options());
  io::write_mp4(dir / "same.mp4", video, rayvid::test::test_mp4_options());
  for (auto& v : video.rgb) v = static_cast<uint8_t>(v + 40);
  io::write_mp4(dir / "brighter.mp4", video, rayvid::test::test_mp4_options());

  SamplerRecord ref = make_record({"unipc", 8, "", 0}, synthetic({1, 1}, 0));
  ref.result.video_path = (dir / "ref.mp4").string();
  ref.latents_file = (dir / "ref.safetensors").string();
  SamplerRecord run = make_record({"euler", 4, "", 0}, synthetic({1, 1}, 0));
  run.result.video_path = (dir / "same.mp4").string();
  run.latents_file = (dir / "run.safetensors").string();
  compare_with_reference(run, ref);
  EXPECT_NEAR(*run.latent_rel_error, 0.1, 1e-6);
  EXPECT_DOUBLE_EQ(*run.psnr, 100.0);  // the same frames encode to the same bitstream
  EXPECT_DOUBLE_EQ(*run.ssim, 1.0);

  run.result.video_path = (dir / "brighter.mp4").string();
  compare_with_reference(run, ref);
  // A uniform +40 level shift: MSE ~ 1600, PSNR ~ 10 log10(65025/1600) = 16.1 dB.
  EXPECT_NEAR(*run.psnr, 16.1, 1.0);
  EXPECT_LT(*run.ssim, 1.0);
}

}  // namespace
}  // namespace rayvid::tools::bench
