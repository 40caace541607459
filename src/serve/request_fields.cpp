#include "serve/request_fields.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <set>

#include "serve/api_error.h"

namespace rayvid::serve {
namespace {

using nlohmann::json;

const std::set<std::string> kStringFields = {"prompt", "negative_prompt", "image",   "last_image",
                                             "size",   "resolution",      "sampler", "recipe",
                                             "cache",  "cache_table"};
const std::set<std::string> kIntFields = {"steps",  "width", "height",
                                          "frames", "fps",   "cache_max_skip"};
const std::set<std::string> kNumberFields = {"guidance_scale", "guidance_scale_2",
                                             "shift",          "cache_threshold",
                                             "guidance_until", "cache_retention"};

std::string type_name(const json& v) {
  return v.is_string()    ? "a string"
         : v.is_boolean() ? "a boolean"
         : v.is_number()  ? "a number"
         : v.is_array()   ? "an array"
         : v.is_object()  ? "an object"
                          : "null";
}

std::optional<uint64_t> seed_of(const json& v) {
  if (v.is_null()) return std::nullopt;
  if (v.is_number_integer() && v.get<int64_t>() == -1) return std::nullopt;  // hosted: random
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) return static_cast<uint64_t>(v.get<int64_t>());
  if (v.is_string()) {
    try {
      return parse_seed(v.get<std::string>());
    } catch (const Error& e) {
      bad_field("seed", e.what());
    }
  }
  bad_field("seed", "expected an integer (-1 or absent: a random seed), got " + type_name(v));
}

}  // namespace

const char* task_name(Task task) {
  return task == Task::kTextToVideo ? "text-to-video" : "image-to-video";
}

json normalise_input(const json& body, Task task, const Limits& limits, uint64_t random_seed) {
  if (!body.is_object())
    throw ApiError(400, "", "the request body must be a JSON object with at least a prompt");
  json input = json::object();
  for (const auto& [key, value] : body.items()) {
    if (key == "enable_sync_mode") {
      if (!value.is_boolean()) bad_field(key, "expected true or false, got " + type_name(value));
      continue;  // how to answer, not what to generate
    }
    if (key == "seed") continue;  // below
    if (key == "loras" || key == "loras_2") {
      const bool ok =
          value.is_array() && std::all_of(value.begin(), value.end(), [](const json& l) {
            return l.is_object() && l.contains("path") && l["path"].is_string() &&
                   (!l.contains("scale") || l["scale"].is_number()) &&
                   l.size() <= 2u - !l.contains("scale");
          });
      if (!ok) bad_field(key, "expected a list of {\"path\": NAME, \"scale\": S}");
      input[key] = value;
      continue;
    }
    if (kStringFields.count(key)) {
      if (!value.is_string()) bad_field(key, "expected a string, got " + type_name(value));
    } else if (kIntFields.count(key)) {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 ||
          value.get<int64_t>() > std::numeric_limits<int>::max())
        bad_field(key, "expected a positive integer, got " + value.dump());
    } else if (kNumberFields.count(key)) {
      if (!value.is_number()) bad_field(key, "expected a number, got " + type_name(value));
    } else if (key == "teacache_e0") {
      if (!value.is_boolean()) bad_field(key, "expected true or false, got " + type_name(value));
    } else if (key == "duration") {
      // The hosted API's duration: 5 or 10 (seconds), also taken as "5s" / "10s".
      if (value.is_number_integer()) {
        input[key] = fmt::format("{}s", value.get<int64_t>());
        continue;
      }
      if (!value.is_string()) bad_field(key, "expected 5, 10, \"5s\" or \"10s\"");
    } else if (key == "reference") {
      const bool strings =
          value.is_string() ||
          (value.is_array() &&
           std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); }));
      if (!strings) bad_field(key, "expected an image URL or a list of image URLs");
      input[key] = value.is_string() ? json::array({value}) : value;
      continue;
    } else {
      bad_field(key,
                "unknown field; rayvid reads prompt, negative_prompt, image, last_image, "
                "reference, size, "
                "resolution, duration, seed, steps, sampler, guidance_scale, guidance_scale_2, "
                "shift, width, height, frames, fps, recipe, cache, cache_threshold, cache_table, "
                "teacache_e0, cache_max_skip, cache_retention, guidance_until, loras, loras_2, "
                "enable_sync_mode");
    }
    input[key] = value;
  }
  if (!input.contains("prompt") || input["prompt"].get<std::string>().empty())
    bad_field("prompt", "required: say what the video shows");
  for (const char* field : {"prompt", "negative_prompt"}) {
    if (input.contains(field) &&
        static_cast<int64_t>(input[field].get<std::string>().size()) > limits.max_prompt_bytes)
      bad_field(field,
                fmt::format("{} bytes is over the server's limit of {} (--max-prompt-bytes)",
                            input[field].get<std::string>().size(), limits.max_prompt_bytes));
  }
  if (task == Task::kTextToVideo && input.contains("last_image"))
    bad_field("last_image",
              "this is a text-to-video route; send both frames to the model's "
              "image-to-video route");
  if (task == Task::kTextToVideo && input.contains("image"))
    bad_field("image",
              "this is a text-to-video route; send the image to the model's "
              "image-to-video route");
  if (task == Task::kImageToVideo && !input.contains("image"))
    bad_field("image",
              "required by an image-to-video route: an uploaded file's URL or a data: URI");
  const auto seed = body.contains("seed") ? seed_of(body["seed"]) : std::nullopt;
  input["seed"] = seed.value_or(random_seed);  // random: below 2^32, exact in JavaScript too
  return input;
}

GenerateRequest to_generate_request(const json& input, const ImageResolver& resolve) {
  GenerateRequest r;
  auto str = [&](const char* key, std::string& target) {
    if (input.contains(key)) target = input[key].get<std::string>();
  };
  auto integer = [&](const char* key, std::optional<int>& target) {
    if (input.contains(key)) target = input[key].get<int>();
  };
  auto number = [&](const char* key, std::optional<double>& target) {
    if (input.contains(key)) target = input[key].get<double>();
  };
  str("prompt", r.prompt);
  str("negative_prompt", r.negative_prompt);
  str("size", r.size);
  str("resolution", r.resolution);
  str("duration", r.duration);
  str("sampler", r.sampler);
  str("recipe", r.recipe);
  str("cache", r.cache);
  str("cache_table", r.cache_table);
  integer("steps", r.steps);
  integer("width", r.width);
  integer("height", r.height);
  integer("frames", r.frames);
  integer("fps", r.fps);
  integer("cache_max_skip", r.cache_max_skip);
  number("guidance_scale", r.guidance_scale);
  number("guidance_scale_2", r.guidance_scale_2);
  number("shift", r.shift);
  number("cache_threshold", r.cache_threshold);
  number("guidance_until", r.guidance_until);
  number("cache_retention", r.cache_retention);
  if (input.contains("teacache_e0")) r.teacache_e0 = input["teacache_e0"].get<bool>();
  r.seed = input.at("seed").get<uint64_t>();
  if (input.contains("image"))
    r.image = resolve("image", input["image"].get<std::string>()).string();
  if (input.contains("last_image"))
    r.last_image = resolve("last_image", input["last_image"].get<std::string>()).string();
  if (input.contains("reference"))
    for (const auto& ref : input["reference"])
      r.reference_images.push_back(resolve("reference", ref.get<std::string>()).string());
  return r;
}

void check_loras(const json& input, const std::filesystem::path& lora_dir, bool two_experts) {
  for (const char* field : {"loras", "loras_2"}) {
    if (!input.contains(field) || input[field].empty()) continue;
    if (lora_dir.empty())
      bad_field(field,
                "this server takes no per-request LoRAs: start it with --lora-dir DIR "
                "(or merge one into every job with --lora FILE)");
    if (std::string(field) == "loras_2" && !two_experts)
      bad_field(field, "only a two-expert model (Wan2.2 A14B) has a second expert; use loras");
    for (const auto& l : input[field]) {
      const std::string name = l["path"].get<std::string>();
      if (name.empty() || name[0] == '.' || name.find_first_of("/\\") != std::string::npos)
        bad_field(field, "'" + name + "' must be a file name in the server's --lora-dir");
      std::error_code ec;
      if (!std::filesystem::is_regular_file(lora_dir / name, ec))
        bad_field(field, "no LoRA '" + name + "' in the server's --lora-dir");
      if (l.contains("scale") && !std::isfinite(l["scale"].get<double>()))
        bad_field(field, "scale must be a finite number");
    }
  }
}

std::vector<LoraOption> loras_of(const json& input, const char* field,
                                 const std::filesystem::path& lora_dir) {
  std::vector<LoraOption> loras;
  if (input.contains(field))
    for (const auto& l : input[field])
      loras.push_back({(lora_dir / l["path"].get<std::string>()).string(), l.value("scale", 1.0)});
  return loras;
}

}  // namespace rayvid::serve
