// `rayvid inspect PATH`: what a model folder or a .safetensors file holds.
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "apps/commands.h"
#include "engine/folder_check.h"
#include "engine/request_plan.h"
#include "io/regular_file.h"
#include "io/safetensors.h"
#include "models/clip/config.h"
#include "models/model_folder.h"
#include "models/umt5/config.h"
#include "models/umt5/single_file.h"
#include "models/wan_dit/single_file.h"

namespace rayvid::apps {
namespace fs = std::filesystem;
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) value /= 1024, ++unit;
  return fmt::format("{:.1f} {}", value, units[unit]);
}

struct Totals {
  int64_t params = 0;
  uint64_t bytes = 0;
};

Totals print_store(const io::WeightStore& store, bool list_tensors, const std::string& indent) {
  Totals totals;
  std::map<std::string, int64_t> per_dtype;
  for (const auto& name : store.names()) {
    const auto info = store.info(name);
    int64_t numel = 1;
    for (int64_t d : info.shape) numel *= d;
    totals.params += numel;
    per_dtype[std::string(io::dtype_name(info.dtype))] += numel;
    if (list_tensors)
      fmt::print("{}  {:<64} {:<8} {}\n", indent, name, io::dtype_name(info.dtype),
                 shape_text(info.shape));
  }
  totals.bytes = store.total_bytes();
  std::vector<std::string> dtypes;
  for (const auto& [dtype, n] : per_dtype) dtypes.push_back(fmt::format("{} {}", dtype, n));
  fmt::print("{}{} tensors, {} parameters, {} ({}) in {} file(s)\n", indent, store.size(),
             totals.params, human_bytes(totals.bytes), fmt::join(dtypes, ", "),
             store.files().size());
  return totals;
}

// Encoders get a parsed one-line summary (their config structs validate too); a config that does
// not parse is shown with the reason instead of stopping the listing.
bool print_encoder_summary(const models::ComponentEntry& c) {
  const bool umt5 = c.class_name.starts_with("UMT5") || c.class_name == "T5EncoderModel";
  const bool clip_vision = c.class_name.starts_with("CLIPVision");
  const bool clip_processor = c.class_name.starts_with("CLIPImageProcessor");
  if (!umt5 && !clip_vision && !clip_processor) return false;
  try {
    if (umt5 && fs::is_regular_file(c.dir / "config.json")) {
      fmt::print("    config: {}\n", models::umt5::UMT5Config::load(c.dir).summary());
    } else if (clip_vision && fs::is_regular_file(c.dir / "config.json")) {
      fmt::print("    config: {}\n", models::clip::CLIPVisionConfig::load(c.dir).summary());
    } else if (clip_processor && fs::is_regular_file(c.dir / "preprocessor_config.json")) {
      fmt::print("    config: {}\n", models::clip::CLIPImageProcessorConfig::load(c.dir).summary());
    } else {
      return false;
    }
  } catch (const Error& e) {
    fmt::print("    config: not usable: {}\n", e.what());
  }
  return true;
}

void print_config_summary(const models::ModelFolder& folder, const models::ComponentEntry& c) {
  if (print_encoder_summary(c)) return;
  const fs::path config_path = c.dir / "config.json";
  if (!fs::is_regular_file(config_path)) return;
  const auto config = io::JsonFile::load(config_path);
  static const char* kKeys[] = {
      // transformer
      "num_attention_heads", "attention_head_dim", "num_layers", "in_channels", "out_channels",
      "ffn_dim", "text_dim", "image_dim", "added_kv_proj_dim", "patch_size",
      // vae
      "z_dim", "base_dim", "dim_mult", "scale_factor_spatial", "scale_factor_temporal",
      "is_residual",
      // umT5 text encoder
      "d_model", "d_kv", "num_heads", "d_ff", "vocab_size", "relative_attention_num_buckets",
      "relative_attention_max_distance", "feed_forward_proj",
      // CLIP vision
      "hidden_size", "intermediate_size", "num_hidden_layers", "image_size", "hidden_act"};
  std::vector<std::string> parts;
  const auto& json = config.json();
  const auto& section = json.contains("vision_config") ? json["vision_config"] : json;
  for (const char* key : kKeys)
    if (section.contains(key)) parts.push_back(fmt::format("{}={}", key, section[key].dump()));
  if (!parts.empty()) fmt::print("    config: {}\n", fmt::join(parts, " "));
  (void)folder;
}

// What `rayvid generate` can give this model besides the prompt, and what it cannot.
void print_inputs(const engine::ModelPlan& p) {
  std::vector<std::string> takes{"--prompt"};
  if (p.accepts_image) takes.push_back(p.requires_image ? "--image (required)" : "--image");
  if (p.accepts_last_image)
    takes.push_back(p.requires_last_image ? "--last-image (required)" : "--last-image");
  if (p.vace) {
    for (const char* flag : {"--keyframe", "--reference", "--control-video", "--control-scale"})
      takes.push_back(flag);
    fmt::print("inputs: {}\n", fmt::join(takes, ", "));
    return;
  }
  fmt::print(
      "inputs: {}; reference images, keyframes and control videos need a Wan2.1 VACE "
      "model\n",
      fmt::join(takes, ", "));
}

// Lists what it can, component by component, then validates what it printed (configs, the
// components against each other, every checkpoint against its config, shards inside the folder):
// each problem is a line of the listing, and the command fails with exit 3 naming the first.
void inspect_folder(const fs::path& path, bool list_tensors) {
  const auto folder = models::ModelFolder::open(path);
  std::string variant;
  try {
    variant = models::detect_variant(folder).name;
  } catch (const Error& e) {
    variant = "unknown";
  }
  fmt::print("{}: {} ({})\n", path.string(), folder.pipeline_class(), variant);
  Totals all;
  std::vector<std::string> problems;
  for (const auto& c : folder.components()) {
    fmt::print("  {} [{} {}]\n", c.name, c.library, c.class_name);
    try {
      print_config_summary(folder, c);
      if (!fs::is_directory(c.dir)) {
        fmt::print("    (folder missing)\n");
        continue;
      }
      bool has_safetensors = false;
      for (const auto& item : fs::directory_iterator(c.dir))
        if (item.path().string().ends_with(".safetensors") ||
            item.path().string().ends_with(".safetensors.index.json"))
          has_safetensors = true;
      if (!has_safetensors) continue;
      const auto totals = print_store(io::WeightStore::open_folder(c.dir), list_tensors, "    ");
      all.params += totals.params;
      all.bytes += totals.bytes;
    } catch (const Error& e) {
      fmt::print("    problem: {}\n", e.what());
    }
  }
  fmt::print("total: {} parameters, {}\n", all.params, human_bytes(all.bytes));
  for (const auto& problem : engine::check_model_folder(folder)) problems.push_back(problem);
  if (problems.empty()) {
    fmt::print("checked: every config valid, components compatible, checkpoints match\n");
    print_inputs(engine::describe_model(folder));
    return;
  }
  for (const auto& problem : problems) fmt::print("problem: {}\n", problem);
  std::fflush(stdout);
  fail(ErrorCategory::kBadInput, "{} is not a usable model ({} problem{}; first: {})",
       path.string(), problems.size(), problems.size() == 1 ? "" : "s", problems.front());
}

// A single-file Wan DiT (validated: a damaged fp8 file fails here, before anything is printed),
// or nothing for other files.
std::optional<models::wan_dit::DiTFile> open_if_dit(const fs::path& path,
                                                    const io::WeightStore& store) {
  if (!models::wan_dit::looks_like_wan_dit(
          models::strip_common_prefix(store.names(), models::wan_dit::dit_file_prefixes())))
    return std::nullopt;
  return models::wan_dit::open_dit_file(path);
}

// A single-file umT5 encoder (ComfyUI's layout), or nothing for other files.
std::optional<models::umt5::UMT5File> open_if_umt5(const fs::path& path,
                                                   const io::WeightStore& store) {
  if (!models::umt5::looks_like_umt5(
          models::strip_common_prefix(store.names(), models::umt5::umt5_file_prefixes())))
    return std::nullopt;
  return models::umt5::open_umt5_file(path);
}

// Its variant, layout and storage, detected from the tensors.
void print_dit_file(const models::wan_dit::DiTFile& dit) {
  const auto& c = dit.config;
  fmt::print("Wan DiT: {}; {}{}; weights {}\n", dit.variant, dit.layout,
             dit.source.stripped_prefix().empty()
                 ? std::string()
                 : fmt::format(" under '{}'", dit.source.stripped_prefix()),
             dit.source.format());
  fmt::print(
      "  config: dim={} num_attention_heads={} num_layers={} in_channels={} out_channels={} "
      "ffn_dim={} text_dim={}{}{}{}\n",
      c.dim, c.num_attention_heads, c.num_layers, c.in_channels, c.out_channels, c.ffn_dim,
      c.text_dim, c.image_dim ? fmt::format(" image_dim={}", *c.image_dim) : "",
      c.pos_embed_seq_len ? fmt::format(" pos_embed_seq_len={}", *c.pos_embed_seq_len) : "",
      c.is_vace() ? fmt::format(" vace_layers={}", c.vace_layers.size()) : "");
}

}  // namespace

void add_inspect(CLI::App& app) {
  auto* sub = app.add_subcommand("inspect", "List a model folder's components and tensors");
  auto path = std::make_shared<std::string>();
  auto list_tensors = std::make_shared<bool>(false);
  sub->add_option("path", *path, "A diffusers model folder, a .safetensors file or an index")
      ->required();
  sub->add_flag("--tensors,!--no-tensors", *list_tensors,
                "List every tensor (default for a single file)");
  sub->callback([path, list_tensors]() {
    const fs::path p(*path);
    // path_kind never throws (fs::is_directory does, on a symlink loop).
    const auto kind = io::path_kind(p);
    if (kind == io::PathKind::kFolder &&
        io::path_kind(p / "model_index.json") != io::PathKind::kMissing) {
      inspect_folder(p, *list_tensors);
    } else if (kind == io::PathKind::kFolder) {
      print_store(io::WeightStore::open_folder(p), true, "");
    } else {
      io::require_regular_file(p, "file to inspect");
      const auto store = io::WeightStore::open_file(p);  // validate before printing anything
      std::optional<models::wan_dit::DiTFile> dit;
      std::optional<models::umt5::UMT5File> umt5;
      if (p.extension() == ".safetensors") dit = open_if_dit(p, store);
      if (!dit && p.extension() == ".safetensors") umt5 = open_if_umt5(p, store);
      fmt::print("{}\n", p.string());
      if (dit) print_dit_file(*dit);
      if (umt5)
        fmt::print(
            "umT5 encoder: {}; weights {}; tokenizer {}\n", umt5->config.summary(),
            umt5->source.format(),
            umt5->embeds_tokenizer ? "embedded (spiece_model)" : "not embedded (--tokenizer)");
      print_store(store, true, "");
    }
  });
}

}  // namespace rayvid::apps
