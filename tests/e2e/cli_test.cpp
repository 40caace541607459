// The rayvid CLI end to end: help, preset resolution through `generate --dry-run`, one-line errors
// with distinct exit codes and no output left behind, inspect, and real generations from the
// bundled demo model checked with ffprobe.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "support/test_env.h"

namespace rayvid {
namespace {
namespace fs = std::filesystem;
using test::run_command;

std::string cli() { return "'" + test::cli_path().string() + "'"; }
std::string demo_model() {
  return "'" + (test::source_dir() / "models" / "rayvid-tiny-ti2v").string() + "'";
}
std::string fixture_model(const std::string& family) {
  return "'" + (test::fixtures_dir() / "models" / family).string() + "'";
}

// One line of output (errors are one line) and the expected exit code.
void expect_error(const std::string& args, int code, const std::string& needle) {
  const auto r = run_command(cli() + " " + args);
  EXPECT_EQ(r.exit_code, code) << args << "\n" << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << args << "\n" << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << "not one line:\n" << r.output;
}

TEST(Cli, HelpListsEverySubcommand) {
  const auto r = run_command(cli() + " --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* sub : {"generate", "bench", "analyze", "inspect", "serve"})
    EXPECT_NE(r.output.find(sub), std::string::npos) << sub;
  const auto g = run_command(cli() + " generate --help");
  EXPECT_NE(g.output.find("beyond what Wan models were trained on"), std::string::npos);
}

TEST(Cli, EveryPresetResolvesThroughGenerateDryRun) {
  const std::string sizes[] = {"16:9", "9:16", "1:1", "4:3", "3:4", "21:9"};
  const std::string resolutions[] = {"540p", "720p", "1080p"};
  // The TI2V demo model: multiples of 32, 24 fps. Spot-check the documented README table.
  const std::map<std::string, std::pair<int, int>> expected = {{"16:9/540p", {960, 544}},
                                                               {"16:9/720p", {1280, 704}},
                                                               {"9:16/1080p", {1088, 1920}},
                                                               {"21:9/720p", {1664, 704}},
                                                               {"4:3/540p", {704, 544}}};
  int checked = 0;
  for (const auto& size : sizes) {
    for (const auto& res : resolutions) {
      for (const std::string duration : {"5s", "10s"}) {
        const auto r = run_command(cli() + " generate --dry-run --model " + demo_model() +
                                   " --prompt x --size " + size + " --resolution " + res +
                                   " --duration " + duration + " 2>/dev/null");
        ASSERT_EQ(r.exit_code, 0) << size << " " << res << "\n" << r.output;
        const auto plan = nlohmann::json::parse(r.output);
        EXPECT_EQ(plan["width"].get<int>() % 32, 0);
        EXPECT_EQ(plan["height"].get<int>() % 32, 0);
        EXPECT_EQ(plan["fps"], 24);
        EXPECT_EQ(plan["frames"], duration == "5s" ? 121 : 241);
        auto it = expected.find(size + "/" + res);
        if (it != expected.end()) {
          EXPECT_EQ(plan["width"], it->second.first) << it->first;
          EXPECT_EQ(plan["height"], it->second.second) << it->first;
        }
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 36);
  // A Wan2.1 folder: multiples of 16, 16 fps, 81 frames for 5 s.
  const auto r = run_command(cli() + " generate --dry-run --model " + fixture_model("wan21_t2v") +
                             " --prompt x --size 16:9 --resolution 720p 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto plan = nlohmann::json::parse(r.output);
  EXPECT_EQ(plan["width"], 1280);
  EXPECT_EQ(plan["height"], 720);
  EXPECT_EQ(plan["frames"], 81);
  EXPECT_EQ(plan["fps"], 16);
}

TEST(Cli, BadRequestsFailWithOneLineAndLeaveNothingBehind) {
  const auto dir = test::scratch_dir("cli_errors");
  const std::string out = " --output '" + (dir / "x.mp4").string() + "'";
  const std::string m = " --model " + demo_model();
  expect_error("generate --bogus-flag", 2, "bad arguments");
  expect_error("generate" + m + out, 2, "--prompt");
  expect_error("generate --prompt x --size 2:1" + m + out, 2, "--size '2:1' is not a preset");
  expect_error("generate --prompt x --width 1000" + m + out, 2, "not a multiple of 32");
  expect_error("generate --prompt x --frames 8" + m + out, 2, "4n+1");
  expect_error("generate --prompt x --sampler ddim" + m + out, 2, "--sampler 'ddim'");
  expect_error("generate --prompt x --model /nonexistent" + out, 3, "not a folder");
  expect_error("generate --prompt x --image /nonexistent.png" + m + out, 3, "file not found");
  std::ofstream(dir / "broken.png") << "not an image";
  expect_error("generate --prompt x --image '" + (dir / "broken.png").string() + "'" + m + out, 3,
               "not a readable image");
  expect_error("generate --prompt x --output /nonexistent/dir/x.mp4" + m, 2, "does not exist");
  expect_error("generate --prompt x --width 4096 --height 4096 --duration 10s" + m + out, 5,
               "CPU memory is free");
  // A text-only model refuses an image; an I2V model needs one.
  const fs::path image = dir / "source.png";
  ASSERT_EQ(run_command("ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=64x64 -frames:v 1 '" +
                        image.string() + "'")
                .exit_code,
            0);
  expect_error("generate --prompt x --image '" + image.string() + "' --model " +
                   fixture_model("wan21_t2v") + out,
               4, "text-to-video only");
  expect_error("generate --prompt x --model " + fixture_model("wan21_i2v") + out, 2,
               "pass --image");
  // Nothing was written: no MP4, no sidecar, no temporary files.
  for (const auto& item : fs::directory_iterator(dir))
    EXPECT_TRUE(item.path() == image || item.path().filename() == "broken.png") << item.path();
}

TEST(Cli, InspectDescribesFoldersAndRejectsCorruptFiles) {
  const auto r = run_command(cli() + " inspect " + demo_model());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* needle :
       {"WanPipeline", "wan2.2-ti2v", "transformer", "vae", "text_encoder", "parameters"})
    EXPECT_NE(r.output.find(needle), std::string::npos) << needle << "\n" << r.output;
  const auto dir = test::scratch_dir("cli_inspect");
  std::ofstream(dir / "bad.safetensors") << std::string("\xff\xff\xff\xff\xff\xff\xff\xff{}", 10);
  expect_error("inspect '" + (dir / "bad.safetensors").string() + "'", 3, "100 MB limit");
  std::ofstream(dir / "weights.pth") << "pickle";
  expect_error("inspect '" + (dir / "weights.pth").string() + "'", 3, "pickle checkpoints");

  // Single-file DiTs (scripts/reference/extra_single_file.py): variant, layout and storage.
  const fs::path files = test::fixtures_dir() / "golden_extra" / "single_file" / "files";
  const auto fp8 =
      run_command(cli() + " inspect '" + (files / "comfy_fp8_scaled.safetensors").string() + "'");
  EXPECT_EQ(fp8.exit_code, 0) << fp8.output;
  for (const char* needle : {"Wan DiT: custom (wan2.1-i2v style, dim 128, 2 layers)",
                             "original Wan names under 'model.diffusion_model.'",
                             "fp8_scaled (ComfyUI scale_weight)", "image_dim=48"})
    EXPECT_NE(fp8.output.find(needle), std::string::npos) << needle << "\n" << fp8.output;
  expect_error("inspect '" + (files / "broken_missing_scale.safetensors").string() + "'", 3,
               "white frames");
  const auto umt5 = run_command(cli() + " inspect '" +
                                (test::fixtures_dir() / "golden_extra" / "umt5_file" / "files" /
                                 "comfy_fp8_scaled.safetensors")
                                    .string() +
                                "'");
  EXPECT_EQ(umt5.exit_code, 0) << umt5.output;
  for (const char* needle : {"umT5 encoder:", "fp8_scaled (ComfyUI scale_weight)", "embedded"})
    EXPECT_NE(umt5.output.find(needle), std::string::npos) << needle << "\n" << umt5.output;
}

// ffprobe's view of a file: the first video stream and the format tags.
nlohmann::json probe(const fs::path& mp4) {
  const auto r = run_command(
      "ffprobe -v error -count_frames -show_streams -show_format -of json '" + mp4.string() + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return nlohmann::json::parse(r.output);
}

TEST(Cli, GeneratesTextAndImageToVideoFromTheDemoModel) {
  const auto dir = test::scratch_dir("cli_generate");
  const fs::path t2v = dir / "t2v.mp4", i2v = dir / "i2v.mp4", image = dir / "source.png";
  const std::string small = " --width 192 --height 128 --frames 9 --steps 2 --seed 3 --quiet";
  auto r = run_command(cli() + " generate --model " + demo_model() + " --prompt 'a red fox'" +
                       small + " --output '" + t2v.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, t2v.string() + "\n");  // stdout: the path only
  ASSERT_EQ(
      run_command("ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=320x200 -frames:v 1 '" +
                  image.string() + "'")
          .exit_code,
      0);
  r = run_command(cli() + " generate --model " + demo_model() + " --prompt 'the card zooms'" +
                  small + " --analyze --image '" + image.string() + "' --output '" + i2v.string() +
                  "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  for (const fs::path& mp4 : {t2v, i2v}) {
    const auto json = probe(mp4);
    const auto& s = json["streams"][0];
    EXPECT_EQ(s["codec_name"], "h264");
    EXPECT_EQ(s["pix_fmt"], "yuv420p");
    EXPECT_EQ(s["width"], 192);
    EXPECT_EQ(s["height"], 128);
    EXPECT_EQ(s["nb_read_frames"], "9");
    EXPECT_EQ(s["avg_frame_rate"], "24/1");
    EXPECT_EQ(s["color_primaries"], "bt709");
    const auto comment =
        nlohmann::json::parse(json["format"]["tags"]["comment"].get<std::string>());
    EXPECT_EQ(comment["seed"], 3);
    EXPECT_EQ(comment["sampler"], "unipc");
    const auto sidecar =
        nlohmann::json::parse(std::ifstream(fs::path(mp4).replace_extension(".json")));
    for (const char* key :
         {"prompt", "negative_prompt", "seed", "variant", "sampler", "steps", "guidance_scale",
          "shift", "width", "height", "frames", "fps", "timings_seconds", "rayvid_version"})
      EXPECT_TRUE(sidecar.contains(key)) << key;
    EXPECT_EQ(sidecar["steps"], 2);
    if (mp4 == i2v) {  // --analyze: the summary lands in the sidecar
      ASSERT_TRUE(sidecar.contains("analysis"));
      EXPECT_FALSE(sidecar["analysis"].empty());
    }
    EXPECT_GT(sidecar["timings_seconds"]["denoise"].get<double>(), 0);
  }
}

TEST(Cli, ProgressJsonReportsEveryStep) {
  const auto dir = test::scratch_dir("cli_progress");
  // ( ... 2>&1 >/dev/null ): keep stderr (the progress lines), drop stdout (the path).
  const auto r = run_command("(" + cli() + " generate --model " + demo_model() +
                             " --prompt fox --width 64 --height 64 --frames 5 --steps 3" +
                             " --progress json --dump-latents '" + (dir / "latents").string() +
                             "' --output '" + (dir / "p.mp4").string() + "' 2>&1 >/dev/null)");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  int steps = 0;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["stage"] == "denoise" && j["step"].get<int>() > 0) {
      ++steps;
      EXPECT_EQ(j["total_steps"], 3);
    }
  }
  EXPECT_EQ(steps, 3);
  EXPECT_TRUE(fs::is_regular_file(dir / "latents" / "step_002.safetensors"));
  EXPECT_TRUE(fs::is_regular_file(dir / "latents" / "manifest.json"));
}

}  // namespace
}  // namespace rayvid
