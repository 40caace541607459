// A submission body (the hosted API's fields plus rayvid's own) checked field by field and turned
// into an engine request. Unknown fields are refused, not ignored: a typo ("guidance" for
// "guidance_scale") would otherwise run with a default the user did not choose.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>

#include "rayvid/rayvid.h"
#include "serve/limits.h"

namespace rayvid::serve {

enum class Task { kTextToVideo, kImageToVideo };
const char* task_name(Task task);  // "text-to-video", "image-to-video"

// Maps an image field's value (URL or data: URI) to a local file; throws ApiError naming `field`.
using ImageResolver =
    std::function<std::filesystem::path(const std::string& field, const std::string& value)>;

// Checks the body and returns it normalised (seed filled in, duration as "5s"); throws ApiError
// 400 naming the first bad field. `random_seed` is used when the body has no seed: the hosted API
// gives a new video per call; the seed that ran is recorded and returned.
nlohmann::json normalise_input(const nlohmann::json& body, Task task, const Limits& limits,
                               uint64_t random_seed);

// The engine request for a normalised input; images resolved to files.
GenerateRequest to_generate_request(const nlohmann::json& input, const ImageResolver& resolve);

// Per-request LoRAs: `loras` (and `loras_2`, A14B's low-noise expert) as the hosted API's LoRA
// routes take them, [{"path": NAME, "scale": S}], where NAME is a file in the server's --lora-dir
// (a plain name: no folders, nothing outside it). Checked when the job is submitted
// (check_loras, 400 naming the field) and turned into engine options when it runs.
void check_loras(const nlohmann::json& input, const std::filesystem::path& lora_dir,
                 bool two_experts);
std::vector<LoraOption> loras_of(const nlohmann::json& input, const char* field,
                                 const std::filesystem::path& lora_dir);

}  // namespace rayvid::serve
