// Hardening item 1: every numeric field of every config a model folder carries (DiT, VAE, umT5,
// CLIP vision and image processor, scheduler, model_index) set to 0, -1, 1e12, NaN and a string
// must be refused when the engine opens the folder (kBadInput, exit 3), in one line naming the file
// and the field. Before the fix `"patch_size": [1, 0, 0]` and `"scale_factor_spatial": 0` died of
// SIGFPE (exit 136), even with --dry-run.
//
// The sweep runs in-process (Engine::open + a dry run), so a few hundred cases take seconds; the
// CLI cases at the end check the exit code and the one-line message end to end.
#include <set>

#include "hardening/hardening_support.h"
#include "io/image.h"
#include "rayvid/rayvid.h"

namespace rayvid::hardening {
namespace {

using nlohmann::json;

// Fields rayvid does not read, with the reason; a field that is neither swept nor listed here
// fails the test, so a new config field must be validated or explained.
const std::map<std::string, std::string>& unused_fields() {
  static const std::map<std::string, std::string> fields = {
      {"text_encoder/config.json/classifier_dropout", "training only"},
      {"text_encoder/config.json/dropout_rate", "training only"},
      {"text_encoder/config.json/initializer_factor", "weight initialisation only"},
      {"text_encoder/config.json/decoder_start_token_id", "the decoder is not loaded"},
      {"text_encoder/config.json/num_decoder_layers", "the decoder is not loaded"},
      {"image_encoder/config.json/attention_dropout", "training only"},
      {"image_encoder/config.json/initializer_factor", "weight initialisation only"},
      {"image_encoder/config.json/initializer_range", "weight initialisation only"},
      {"scheduler/scheduler_config.json/beta_start", "flow sigmas use no betas"},
      {"scheduler/scheduler_config.json/beta_end", "flow sigmas use no betas"},
      {"scheduler/scheduler_config.json/dynamic_thresholding_ratio",
       "thresholding only, which rayvid refuses"},
      {"scheduler/scheduler_config.json/sample_max_value",
       "thresholding only, which rayvid refuses"},
      {"scheduler/scheduler_config.json/steps_offset",
       "leading/trailing spacing only; flow sigmas are linspace"},
  };
  return fields;
}

// Values that are valid for a field (so the sweep expects them to open fine).
bool is_valid_value(const std::string& field, const std::string& value) {
  static const std::set<std::string> valid = {
      "vae/config.json/dropout=0",  // no dropout: the shipped value
      "vae/config.json/latents_mean/0=0",
      "vae/config.json/latents_mean/0=-1",
      "text_encoder/config.json/pad_token_id=0",
      "text_encoder/config.json/eos_token_id=0",
      "image_processor/preprocessor_config.json/image_mean/0=0",
      "image_processor/preprocessor_config.json/image_mean/0=-1",
  };
  return valid.count(field + "=" + value) != 0;
}

struct Leaf {
  std::string file;  // "transformer/config.json"
  json::json_pointer pointer;
  std::string name() const { return file + pointer.to_string(); }
  std::string key() const {  // the top-level field, named in errors
    return pointer.to_string().substr(1, pointer.to_string().find('/', 1) - 1);
  }
};

// Numeric leaves: scalars, the first entry of numeric lists, and numbers one object down.
void collect(const std::string& file, const json& value, const json::json_pointer& at,
             std::vector<Leaf>& out, int depth = 0) {
  if (value.is_number()) {
    out.push_back({file, at});
  } else if (value.is_array() && !value.empty() && value[0].is_number()) {
    out.push_back({file, at / 0});
  } else if (value.is_object() && depth < 2) {
    for (const auto& [k, v] : value.items()) collect(file, v, at / k, out, depth + 1);
  }
}

// A plain 64x64 source image for image-to-video folders, beside the model copy.
fs::path source_image(const fs::path& model) {
  const fs::path path = model.parent_path() / "source.png";
  if (!fs::exists(path)) {
    io::Image image;
    image.width = image.height = 64;
    image.rgb.assign(64 * 64 * 3, 128);
    io::write_png(path, image);
  }
  return path;
}

// PIL's NEAREST (0) is a real filter rayvid does not implement: unsupported (exit 4), not corrupt.
ErrorCategory expected_category(const std::string& field, const std::string& value) {
  if (field == "image_processor/preprocessor_config.json/resample" && value == "0")
    return ErrorCategory::kUnsupported;
  return ErrorCategory::kBadInput;
}

class ConfigSweep : public ::testing::Test {
 protected:
  // Opens `model` and plans a small request; returns the error, or nullopt if it opened fine.
  static std::optional<Error> open_error(const fs::path& model) {
    try {
      EngineOptions options;
      options.model_dir = model.string();
      auto engine = Engine::open(options);
      GenerateRequest request;
      request.prompt = "a cat";
      request.dry_run = true;
      request.width = request.height = 64;
      request.frames = 5;
      if (fs::exists(model / "image_encoder")) request.image = source_image(model).string();
      engine->generate(request);
      return std::nullopt;
    } catch (const Error& e) {
      return e;
    }
  }

  // Sweeps every numeric leaf of every config in `model` (a copy it may edit).
  static int sweep(const fs::path& model, std::set<std::string>& seen_unused) {
    const std::vector<std::string> files = {"model_index.json",
                                            "transformer/config.json",
                                            "vae/config.json",
                                            "text_encoder/config.json",
                                            "image_encoder/config.json",
                                            "image_processor/preprocessor_config.json",
                                            "scheduler/scheduler_config.json"};
    int cases = 0;
    for (const auto& file : files) {
      const fs::path path = model / file;
      if (!fs::exists(path)) continue;
      const json original = read_json(path);
      std::vector<Leaf> leaves;
      collect(file, original, json::json_pointer(), leaves);
      for (const auto& leaf : leaves) {
        if (unused_fields().count(file + "/" + leaf.key())) {
          seen_unused.insert(file + "/" + leaf.key());
          continue;
        }
        for (const std::string value : {"0", "-1", "1e12", "NaN", "string"}) {
          json edited = original;
          if (value == "string")
            edited[leaf.pointer] = "x";
          else if (value == "NaN")
            edited[leaf.pointer] = "__NAN__";
          else if (value == "1e12") {
            if (original[leaf.pointer].is_number_integer())
              edited[leaf.pointer] = int64_t{1'000'000'000'000};
            else
              edited[leaf.pointer] = 1e12;
          } else {
            edited[leaf.pointer] = std::stoi(value);
            if (original[leaf.pointer].is_number_float()) edited[leaf.pointer] = std::stod(value);
          }
          std::string text = edited.dump(2);
          // JSON has no NaN; Python's json module writes it bare, so real files can carry it.
          if (const auto at = text.find("\"__NAN__\""); at != std::string::npos)
            text.replace(at, 9, "NaN");
          write_text(path, text);
          const auto error = open_error(model);
          ++cases;
          const std::string label = leaf.name() + " = " + value;
          if (is_valid_value(leaf.name(), value)) {
            EXPECT_FALSE(error) << label << ": refused a valid value: " << error->what();
            continue;
          }
          if (!error) {
            ADD_FAILURE() << label << ": accepted";
            continue;
          }
          EXPECT_EQ(error->category(), expected_category(leaf.name(), value))
              << label << ": " << error->what();
          const std::string message = error->what();
          EXPECT_NE(message.find(file), std::string::npos) << label << ": " << message;
          // The field: its top-level key, or (a parse error points at a line) the nested key.
          const std::string nested = leaf.pointer.back() == "0"
                                         ? leaf.pointer.parent_pointer().back()
                                         : leaf.pointer.back();
          EXPECT_TRUE(message.find(leaf.key()) != std::string::npos ||
                      message.find('"' + nested + '"') != std::string::npos)
              << label << ": " << message;
          EXPECT_EQ(message.find('\n'), std::string::npos) << label << ": " << message;
        }
      }
      write_text(path, original.dump(2));
    }
    return cases;
  }
};

TEST_F(ConfigSweep, EveryNumericFieldOfTheDemoModelIsValidated) {
  const fs::path dir = test::scratch_dir("hardening-config-sweep-ti2v");
  const fs::path model = copy_demo_model(dir);
  std::set<std::string> unused;
  const int cases = sweep(model, unused);
  EXPECT_GT(cases, 150);  // DiT, VAE, umT5 and scheduler fields x 5 values
}

TEST_F(ConfigSweep, EveryNumericFieldOfAClipImageToVideoModelIsValidated) {
  const fs::path dir = test::scratch_dir("hardening-config-sweep-i2v");
  const fs::path model = dir / "model";
  fs::copy(test::fixtures_dir() / "models" / "wan21_i2v", model, fs::copy_options::recursive);
  std::set<std::string> unused;
  const int cases = sweep(model, unused);
  EXPECT_GT(cases, 200);  // + CLIP vision and image processor
  // Every listed unused field exists in a real config (the list is not stale).
  for (const auto& [field, reason] : unused_fields())
    EXPECT_TRUE(unused.count(field)) << field << " is listed as unused but was not seen";
}

TEST_F(ConfigSweep, BoundaryRatioOfModelIndexIsValidated) {
  const fs::path dir = test::scratch_dir("hardening-config-boundary");
  const fs::path model = copy_demo_model(dir);
  const json original = read_json(model / "model_index.json");
  for (const json& value : {json(0), json(-1), json(1e12), json(1), json("x")}) {
    json edited = original;
    edited["boundary_ratio"] = value;
    write_json(model / "model_index.json", edited);
    const auto error = open_error(model);
    ASSERT_TRUE(error) << value;
    EXPECT_EQ(error->category(), ErrorCategory::kBadInput) << error->what();
    EXPECT_NE(std::string(error->what()).find("boundary_ratio"), std::string::npos)
        << error->what();
  }
}

// The two crashes of the issue, through the CLI: exit 3 and one line, with and without --dry-run.
TEST(ConfigCrashes, ZeroPatchSizeAndZeroVaeStrideAreExit3NotSigfpe) {
  const fs::path dir = test::scratch_dir("hardening-config-crashes");
  const fs::path model = copy_demo_model(dir);
  const json dit = read_json(model / "transformer" / "config.json");
  const json vae = read_json(model / "vae" / "config.json");
  for (const std::string dry : {"", " --dry-run"}) {
    json broken = dit;
    broken["patch_size"] = {1, 0, 0};
    write_json(model / "transformer" / "config.json", broken);
    expect_clean_error(small_generate(dir) + " --model " + quoted(model) + dry, 3,
                       "transformer/config.json: patch_size", dir);
    write_json(model / "transformer" / "config.json", dit);

    broken = vae;
    broken["scale_factor_spatial"] = 0;
    write_json(model / "vae" / "config.json", broken);
    expect_clean_error(small_generate(dir) + " --model " + quoted(model) + dry, 3,
                       "vae/config.json: scale_factor_spatial", dir);
    write_json(model / "vae" / "config.json", vae);

    broken = dit;
    broken["patch_size"] = {1};  // item 4: was "internal error" (exit 70)
    write_json(model / "transformer" / "config.json", broken);
    expect_clean_error(small_generate(dir) + " --model " + quoted(model) + dry, 3,
                       "patch_size should have 3 entries", dir);
    write_json(model / "transformer" / "config.json", dit);
  }
}

}  // namespace
}  // namespace rayvid::hardening
