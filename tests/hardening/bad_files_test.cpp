// Hardening: input files that are not what their names say. A FIFO where a weights or config file
// belongs used to block `rayvid inspect` / `rayvid generate` forever; a folder, a FIFO, a symlink
// to /dev/zero or a symlink loop in place of the weights ended as "internal error" (exit 70); a
// sharded index could load shards from outside the model folder. Each is now a one-line bad-input
// error (exit 3) naming the file. Every command runs under `timeout`, so a regression to a hang
// fails the test instead of stopping the suite.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "hardening/hardening_support.h"
#include "io/safetensors_format.h"

namespace rayvid::hardening {
namespace {

constexpr const char* kWeights = "transformer/diffusion_pytorch_model.safetensors";
constexpr const char* kIndexName = "diffusion_pytorch_model.safetensors.index.json";

std::string timed(const std::string& command) { return "timeout 60 " + command; }

std::string inspect(const fs::path& path) { return timed(cli() + " inspect " + quoted(path)); }

std::string generate(const fs::path& dir, const fs::path& model) {
  return timed(small_generate(dir) + " --model " + quoted(model));
}

void make_fifo(const fs::path& path) {
  fs::remove_all(path);
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << path;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The ways a weights file can be something else, each with the words the error uses for it.
struct Replacement {
  const char* name;
  const char* described;  // how the error message names it
  void (*make)(const fs::path& path);
};

const std::vector<Replacement>& replacements() {
  static const std::vector<Replacement> kAll = {
      {"folder", "a folder",
       [](const fs::path& p) {
         fs::remove_all(p);
         fs::create_directory(p);
       }},
      {"fifo", "a FIFO", [](const fs::path& p) { make_fifo(p); }},
      {"dev_zero", "a character device",
       [](const fs::path& p) {
         fs::remove_all(p);
         fs::create_symlink("/dev/zero", p);
       }},
      {"symlink_loop", "a symlink loop",
       [](const fs::path& p) {
         fs::remove_all(p);
         fs::create_symlink(p.filename(), p);  // points at itself
       }},
  };
  return kAll;
}

// `rayvid inspect` of a FIFO named like weights: blocked in open() before.
TEST(BadFiles, InspectRefusesFifoGivenAsFile) {
  const auto dir = test::scratch_dir("hardening_bad_files_fifo");
  make_fifo(dir / "f.safetensors");
  expect_clean_error(inspect(dir / "f.safetensors"), 3, "is a FIFO");
  make_fifo(dir / kIndexName);
  expect_clean_error(inspect(dir / kIndexName), 3, "is a FIFO");
}

// Weights replaced by a folder, a FIFO, /dev/zero or a symlink loop: through generate and
// inspect, exit 3 and one line naming the file and what it is.
TEST(BadFiles, WeightsThatAreNotRegularFiles) {
  for (const auto& r : replacements()) {
    SCOPED_TRACE(r.name);
    const auto dir = test::scratch_dir(std::string("hardening_bad_weights_") + r.name);
    const fs::path model = copy_demo_model(dir);
    r.make(model / kWeights);
    const std::string needle =
        std::string("diffusion_pytorch_model.safetensors: cannot read the weights file: it is ") +
        r.described;
    expect_clean_error(generate(dir, model), 3, needle, dir);
    expect_clean_error(inspect(model), 3, needle);
  }
}

// The file itself given to inspect (a symlink loop is left out: the CLI's own path checks see it
// before the io layer does).
TEST(BadFiles, InspectRefusesDeviceGivenAsFile) {
  const auto dir = test::scratch_dir("hardening_bad_files_device");
  fs::create_symlink("/dev/zero", dir / "zero.safetensors");
  expect_clean_error(inspect(dir / "zero.safetensors"), 3, "a character device");
}

// Config and index files that are FIFOs: JsonFile::load used to block reading them.
TEST(BadFiles, ConfigFilesThatAreFifos) {
  for (const char* file : {"transformer/config.json", "model_index.json", "vae/config.json"}) {
    SCOPED_TRACE(file);
    const auto dir = test::scratch_dir("hardening_bad_config_fifo");
    const fs::path model = copy_demo_model(dir);
    make_fifo(model / file);
    expect_clean_error(generate(dir, model), 3, "is a FIFO", dir);
  }
  const auto dir = test::scratch_dir("hardening_bad_config_fifo_inspect");
  const fs::path model = copy_demo_model(dir);
  make_fifo(model / "transformer/config.json");
  expect_clean_error(inspect(model), 3, "config.json: cannot read the JSON file: it is a FIFO");
}

// The tokenizer's SentencePiece model as a FIFO: refused (the shim would block opening it). Only
// the exit code and the message are checked: the error comes while the components load, after
// the progress line "[ 0.0s] load" on stderr.
TEST(BadFiles, SentencePieceModelThatIsAFifo) {
  const auto dir = test::scratch_dir("hardening_bad_spiece_fifo");
  const fs::path model = copy_demo_model(dir);
  make_fifo(model / "tokenizer/spiece.model");
  const auto r = test::run_command(generate(dir, model));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("spiece.model"), std::string::npos) << r.output;
}

// Turns the transformer of `model` into a sharded component: its weights move to `shard` and a
// new index maps every tensor to `entry`.
void shard_transformer(const fs::path& model, const fs::path& shard, const std::string& entry) {
  const fs::path single = model / kWeights;
  const std::string bytes = read_bytes(single);
  const auto header = io::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            bytes.size(), single.string());
  nlohmann::json map = nlohmann::json::object();
  for (const auto& t : header.tensors) map[t.name] = entry;
  fs::create_directories(shard.parent_path());
  fs::rename(single, shard);
  write_json(model / "transformer" / kIndexName,
             {{"metadata", nlohmann::json::object()}, {"weight_map", map}});
}

// An index may name only files beside it: "../../outside/x.safetensors" and absolute paths were
// loaded before.
TEST(BadFiles, ShardIndexMayNotLeaveTheModelFolder) {
  const auto dir = test::scratch_dir("hardening_shard_outside");
  const fs::path outside = dir / "outside" / "x.safetensors";
  for (const std::string& entry : {std::string("../../outside/x.safetensors"), outside.string()}) {
    SCOPED_TRACE(entry);
    fs::remove_all(dir / "model");
    fs::remove_all(dir / "outside");
    const fs::path model = copy_demo_model(dir);
    shard_transformer(model, outside, entry);
    expect_clean_error(generate(dir, model), 3, "'" + entry + "'", dir);
    expect_clean_error(inspect(model), 3, std::string(kIndexName) + ": weight_map entry");
    expect_clean_error(inspect(model / "transformer" / kIndexName), 3, "'" + entry + "'");
  }
}

// Shards beside the index stay fine, also as symlinks to elsewhere (the Hugging Face cache links
// every file to a blob outside the snapshot folder).
TEST(BadFiles, ShardBesideIndexIsLoaded) {
  const auto dir = test::scratch_dir("hardening_shard_beside");
  {
    const fs::path model = copy_demo_model(dir);
    shard_transformer(model, model / "transformer" / "x.safetensors", "./x.safetensors");
    const auto r = test::run_command(inspect(model));
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
  fs::remove_all(dir / "model");
  const fs::path model = copy_demo_model(dir);
  shard_transformer(model, dir / "blobs" / "0123abcd", "x.safetensors");
  fs::create_symlink(dir / "blobs" / "0123abcd", model / "transformer" / "x.safetensors");
  const auto r = test::run_command(inspect(model));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("in 1 file(s)"), std::string::npos) << r.output;
}

// A shard that is a FIFO is refused by name, whether found in the folder or through the index.
TEST(BadFiles, ShardThatIsAFifo) {
  const auto dir = test::scratch_dir("hardening_shard_fifo");
  const fs::path model = copy_demo_model(dir);
  shard_transformer(model, model / "transformer" / "x.safetensors", "x.safetensors");
  make_fifo(model / "transformer" / "x.safetensors");
  expect_clean_error(inspect(model / "transformer" / kIndexName), 3, "is a FIFO");
  expect_clean_error(generate(dir, model), 3, "x.safetensors: cannot read the weights file", dir);
}

}  // namespace
}  // namespace rayvid::hardening
