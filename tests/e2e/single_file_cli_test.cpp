// `rayvid generate --model DIT.safetensors` with the other components given as folders: the model
// a DiT file and component folders assemble runs the same numbers as the diffusers folder holding
// the same DiT (the final latents equal bit for bit; the scheduler is the matching folder's), fp8
// files run, the sidecar names every component's source, and a missing or unreadable piece is one
// line naming what is needed. Fixtures: scripts/reference/extra_single_file.py.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "cli_refusals.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "support/test_env.h"

namespace rayvid {
namespace {
namespace fs = std::filesystem;
using test::run_command;

fs::path root() { return test::fixtures_dir() / "golden_extra" / "single_file"; }
fs::path folder() { return root() / "model"; }
std::string file(const std::string& form) {
  return "'" + (root() / "files" / (form + ".safetensors")).string() + "'";
}
std::string components(const std::string& skip = "") {
  std::string s;
  for (const std::string c : {"vae", "text_encoder", "tokenizer", "image_encoder"}) {
    if (c == skip) continue;
    std::string flag = c;
    std::replace(flag.begin(), flag.end(), '_', '-');
    s += " --" + flag + " '" + (folder() / c).string() + "'";
  }
  return s;
}
std::string image() {
  return (test::fixtures_dir() / "golden_extra" / "flf2v" / "flf2v_first_64x48.png").string();
}

test::CliRun generate(const std::string& name, const std::string& args) {
  const fs::path dir = test::scratch_dir("single_file_cli_" + name);
  return {run_command(test::cli_command() + " generate" + args + " --image '" + image() +
                      "' --prompt 'a fox' --width 64 --height 48 --frames 9 --steps 2 --shift 3 -q"
                      " --dump-latents '" +
                      (dir / "latents").string() + "' --output '" + (dir / "out.mp4").string() +
                      "' 2>&1"),
          dir};
}

nlohmann::json sidecar(const fs::path& dir) {
  std::ifstream in(dir / "out.json");
  return nlohmann::json::parse(in);
}

at::Tensor final_latents(const fs::path& dir) {
  const auto manifest = io::JsonFile::load(dir / "latents" / "manifest.json");
  const std::string last = manifest.json().at("steps").back().at("file");
  return io::SafetensorsFile::open(dir / "latents" / last)->tensor("latents").clone();
}

TEST(SingleFileCli, ADiTFileWithComponentFoldersRunsTheFolderModel) {
  const auto from_folder = generate("folder", " --model '" + folder().string() + "'");
  ASSERT_EQ(from_folder.result.exit_code, 0) << from_folder.result.output;
  const auto from_file = generate("file", " --model " + file("orig_fp32") + components());
  ASSERT_EQ(from_file.result.exit_code, 0) << from_file.result.output;
  EXPECT_TRUE(at::equal(final_latents(from_folder.dir), final_latents(from_file.dir)));

  std::ifstream in(from_file.dir / "out.json");
  const auto sidecar = nlohmann::json::parse(in);
  EXPECT_EQ(sidecar["model_files"]["transformer"],
            (root() / "files" / "orig_fp32.safetensors").string());
  EXPECT_EQ(sidecar["model_files"]["vae"], (folder() / "vae").string());
}

TEST(SingleFileCli, AUmt5FileWithItsEmbeddedTokenizerReplacesTheTextEncoder) {
  const fs::path umt5 = test::fixtures_dir() / "golden_extra" / "umt5_file" / "files";
  const auto from_folder = generate("umt5_folder", " --model '" + folder().string() + "'");
  ASSERT_EQ(from_folder.result.exit_code, 0) << from_folder.result.output;
  // The DiT from a file too, and no --tokenizer: the umT5 file's spiece_model is used.
  const auto from_files = generate(
      "umt5_file", " --model " + file("orig_fp32") + " --vae '" + (folder() / "vae").string() +
                       "' --image-encoder '" + (folder() / "image_encoder").string() +
                       "' --text-encoder '" + (umt5 / "comfy_fp32.safetensors").string() + "'");
  ASSERT_EQ(from_files.result.exit_code, 0) << from_files.result.output;
  EXPECT_TRUE(at::equal(final_latents(from_folder.dir), final_latents(from_files.dir)));
  const auto fp8 = generate("umt5_fp8", " --model '" + folder().string() + "' --text-encoder '" +
                                            (umt5 / "comfy_fp8_scaled.safetensors").string() + "'");
  EXPECT_EQ(fp8.result.exit_code, 0) << fp8.result.output;
}

TEST(SingleFileCli, AnOriginalLayoutVaeFileDecodesAsTheFolder) {
  const fs::path vae = test::fixtures_dir() / "golden_extra" / "vae_file" / "files";
  const auto from_folder = generate("vae_folder", " --model '" + folder().string() + "'");
  ASSERT_EQ(from_folder.result.exit_code, 0) << from_folder.result.output;
  const auto from_file =
      generate("vae_from_file", " --model '" + folder().string() + "' --vae '" +
                                    (vae / "orig_fp32.safetensors").string() + "'");
  ASSERT_EQ(from_file.result.exit_code, 0) << from_file.result.output;
  // The decoded video of the run (--dump-latents writes it), and the image encoded on the way.
  for (const char* name : {"video", "condition"}) {
    const auto a = io::SafetensorsFile::open(from_folder.dir / "latents" /
                                             (std::string(name) + ".safetensors"));
    const auto b =
        io::SafetensorsFile::open(from_file.dir / "latents" / (std::string(name) + ".safetensors"));
    EXPECT_TRUE(at::equal(a->tensor(name), b->tensor(name))) << name;
  }
}

TEST(SingleFileCli, AWan22VaeFileDecodesAsTheTi2vFolder) {
  // The Wan2.2 VAE (16x spatial, patch 2) as ComfyUI's wan2.2_vae ships it, with a TI2V folder.
  const fs::path ti2v = test::fixtures_dir() / "models" / "wan22_ti2v";
  const fs::path vae = test::fixtures_dir() / "golden_extra" / "vae_file" / "files";
  auto run = [&](const std::string& name, const std::string& extra) {
    const fs::path dir = test::scratch_dir("single_file_cli_" + name);
    return test::CliRun{
        run_command(test::cli_command() + " generate --model '" + ti2v.string() + "'" + extra +
                    " --prompt 'a fox' --width 64 --height 64 --frames 5 --steps 2 -q"
                    " --dump-latents '" +
                    (dir / "latents").string() + "' --output '" + (dir / "out.mp4").string() +
                    "' 2>&1"),
        dir};
  };
  const auto from_folder = run("vae22_folder", "");
  ASSERT_EQ(from_folder.result.exit_code, 0) << from_folder.result.output;
  const auto from_file =
      run("vae22_file", " --vae '" + (vae / "orig22_fp32.safetensors").string() + "'");
  ASSERT_EQ(from_file.result.exit_code, 0) << from_file.result.output;
  const auto a = io::SafetensorsFile::open(from_folder.dir / "latents" / "video.safetensors");
  const auto b = io::SafetensorsFile::open(from_file.dir / "latents" / "video.safetensors");
  EXPECT_TRUE(at::equal(a->tensor("video"), b->tensor("video")));
  EXPECT_EQ(sidecar(from_file.dir)["model_files"]["vae"],
            (vae / "orig22_fp32.safetensors").string());
}

TEST(SingleFileCli, Fp8FilesRunAndReplaceAFoldersTransformerToo) {
  for (const char* form : {"comfy_fp8_scaled", "comfy_fp8_mixed", "kijai_fp8_e4m3fn"}) {
    const auto r = generate(form, " --model " + file(form) + components());
    EXPECT_EQ(r.result.exit_code, 0) << form << ": " << r.result.output;
    EXPECT_TRUE(fs::exists(r.dir / "out.mp4")) << form;
  }
  // A folder with one component replaced by another folder: the same model, the same numbers.
  const auto replaced = generate("replaced", " --model '" + folder().string() + "' --vae '" +
                                                 (folder() / "vae").string() + "'");
  ASSERT_EQ(replaced.result.exit_code, 0) << replaced.result.output;
}

// --weights: an fp8 file stays in fp8 by default (auto) and runs the same numbers as with its
// weights dequantized at load (--weights compute); --weights fp8 quantizes a folder's fp32
// weights, which changes the result a little; the sidecar says which ran.
TEST(SingleFileCli, WeightStorageFlag) {
  const auto automatic = generate("w_auto", " --model " + file("comfy_fp8_mixed") + components());
  ASSERT_EQ(automatic.result.exit_code, 0) << automatic.result.output;
  const auto compute = generate(
      "w_compute", " --model " + file("comfy_fp8_mixed") + components() + " --weights compute");
  ASSERT_EQ(compute.result.exit_code, 0) << compute.result.output;
  EXPECT_EQ(sidecar(automatic.dir)["weight_storage"], "fp8");
  EXPECT_EQ(sidecar(compute.dir)["weight_storage"], "fp32");
  EXPECT_TRUE(at::equal(final_latents(automatic.dir), final_latents(compute.dir)));

  const auto folder_fp32 = generate("w_folder", " --model '" + folder().string() + "'");
  const auto folder_fp8 =
      generate("w_folder_fp8", " --model '" + folder().string() + "' --weights fp8");
  ASSERT_EQ(folder_fp8.result.exit_code, 0) << folder_fp8.result.output;
  EXPECT_EQ(sidecar(folder_fp32.dir)["weight_storage"], "fp32");
  EXPECT_EQ(sidecar(folder_fp8.dir)["weight_storage"], "fp8");
  const at::Tensor a = final_latents(folder_fp32.dir), b = final_latents(folder_fp8.dir);
  EXPECT_FALSE(at::equal(a, b));
  EXPECT_LT((a - b).abs().max().item<float>(), 0.1 * a.abs().max().item<float>());
}

TEST(SingleFileCli, MissingOrUnreadablePiecesAreOneLine) {
  const std::string clip_file = (folder() / "image_encoder" / "model.safetensors").string();
  test::expect_refusals(
      {
          {"no_components", " --model " + file("orig_fp32"), 2, "--vae, --text-encoder"},
          {"broken_fp8", " --model " + file("broken_missing_scale") + components(), 3,
           "white frames"},
          // The fixture's tiny CLIP is not ViT-H/14-shaped (16-wide heads): no head count.
          {"clip_file",
           " --model " + file("orig_fp32") + components("image_encoder") + " --image-encoder '" +
               clip_file + "'",
           3, "80-wide heads"},
          {"weights_unknown", " --model '" + folder().string() + "' --weights int4", 2,
           "expected auto, fp8 or compute"},
          {"model_2_on_one_expert",
           " --model '" + folder().string() + "' --model-2 " + file("orig_fp32"), 2,
           "second expert"},
      },
      generate);
}

}  // namespace
}  // namespace rayvid
