// Provenance JSON, latent dumps, and a small safetensors writer.
#include "engine/provenance.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "core/check.h"
#include "core/version.h"
#include "io/atomic_file.h"

namespace rayvid::engine {
namespace fs = std::filesystem;

fs::path sidecar_path(const fs::path& video) {
  fs::path p = video;
  return p.replace_extension(".json");
}

nlohmann::json provenance_json(const GenerateRequest& request, const RequestPlan& plan,
                               const GenerateResult& result) {
  nlohmann::json j;
  j["rayvid_version"] = kVersion;
  j["prompt"] = request.prompt;
  j["negative_prompt"] = request.negative_prompt;
  j["image"] = request.image ? nlohmann::json(*request.image) : nlohmann::json(nullptr);
  j["last_image"] =
      request.last_image ? nlohmann::json(*request.last_image) : nlohmann::json(nullptr);
  if (!plan.keyframes.empty() || !plan.references.empty() || plan.control_video) {
    nlohmann::json keyframes = nlohmann::json::object();
    for (const auto& [index, path] : plan.keyframes)
      keyframes[std::to_string(index)] = path.string();
    nlohmann::json references = nlohmann::json::array();
    for (const auto& path : plan.references) references.push_back(path.string());
    j["vace"] = {{"keyframes", keyframes},
                 {"references", references},
                 {"control_video", plan.control_video ? nlohmann::json(plan.control_video->string())
                                                      : nlohmann::json(nullptr)},
                 {"control_scale", plan.control_scale}};
  }
  j["seed"] = request.seed;
  j["variant"] = result.variant;
  j["model_files"] = result.model_files;
  j["sampler"] = result.sampler;
  j["recipe"] = result.recipe.empty() ? nlohmann::json(nullptr) : nlohmann::json(result.recipe);
  j["steps"] = plan.steps;
  j["guidance_scale"] = plan.guidance_scale;
  j["guidance_scale_2"] = plan.guidance_scale_2;
  j["guided_steps"] = plan.guided_steps;  // steps that ran with guidance (--guidance-until)
  j["shift"] = plan.shift;                // what ran: the request's, else the scheduler config's
  j["size"] = request.size;
  j["resolution"] = request.resolution;
  j["duration"] = request.duration;
  j["width"] = plan.shape.width;
  j["height"] = plan.shape.height;
  j["frames"] = plan.shape.frames;
  j["fps"] = plan.shape.fps;
  const auto& t = result.timings;
  j["timings_seconds"] = {
      {"load", t.load},       {"text_encode", t.text_encode}, {"image_encode", t.image_encode},
      {"denoise", t.denoise}, {"vae_decode", t.vae_decode},   {"mux", t.mux},
      {"total", t.total}};
  nlohmann::json calls = nlohmann::json::object();
  for (const auto& [op, c] : result.kernel_calls)
    calls[op] = {{"kernel", c.kernel}, {"aten_fallback", c.fallback}};
  j["kernels"] = {{"backend", result.kernel_backend}, {"calls", calls}};
  j["weight_storage"] = result.weight_storage;
  j["memory_profile"] = result.memory_profile;
  nlohmann::json loras = nlohmann::json::array();
  for (const auto& l : result.loras) {
    loras.push_back({{"expert", l.expert},
                     {"path", l.path},
                     {"format", l.format},
                     {"strength", l.strength},
                     {"tensors_changed", l.tensors_changed},
                     {"unmatched_keys", l.unmatched},
                     {"skipped_image_branch_keys", l.skipped}});
  }
  j["loras"] = loras;
  if (plan.step_cache) {
    const auto& c = *plan.step_cache;
    std::vector<int> reused;
    for (size_t i = 0; i < result.cache_steps.size(); ++i) {
      if (!result.cache_steps[i]) reused.push_back(static_cast<int>(i));
    }
    j["step_cache"] = {{"method", c.method},
                       {"table", c.table},
                       {"threshold", c.threshold},
                       {"teacache_e0", c.teacache_e0},
                       {"max_skip_steps", c.max_skip_steps},
                       {"retention_ratio", c.retention_ratio},
                       {"steps_run", static_cast<int>(result.cache_steps.size() - reused.size())},
                       {"steps_reused", reused}};
  } else {
    j["step_cache"] = nullptr;
  }
  j["step_seconds"] = result.step_seconds;
  j["peak_memory_bytes"] = result.peak_memory_bytes;
  j["estimated_peak_bytes"] = result.estimated_peak_bytes;  // the planner's memory model
  return j;
}

void write_safetensors(const fs::path& path, const std::map<std::string, at::Tensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, tensor] : tensors) {
    at::Tensor t = tensor.cpu().contiguous();
    std::string dtype;
    switch (t.scalar_type()) {
      case at::kFloat:
        dtype = "F32";
        break;
      case at::kLong:
        dtype = "I64";
        break;
      case at::kByte:
        dtype = "U8";
        break;
      default:
        t = t.to(at::kFloat);
        dtype = "F32";
    }
    const size_t begin = data.size();
    data.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
    header[name] = {
        {"dtype", dtype}, {"shape", t.sizes().vec()}, {"data_offsets", {begin, data.size()}}};
  }
  header["__metadata__"] = {{"format", "pt"}, {"writer", "rayvid"}};
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text += ' ';  // keep the data 8-byte aligned
  std::string bytes(8, '\0');
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  io::write_file_atomic(path, bytes + text + data);
}

LatentDump::LatentDump(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) return;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  RAYVID_CHECK(!ec, BadArgument, "--dump-latents {}: cannot create the folder ({})", dir_.string(),
               ec.message());
}

void LatentDump::add(int step, double timestep, const at::Tensor& latents,
                     const at::Tensor& prediction) {
  if (dir_.empty()) return;
  const std::string file = fmt::format("step_{:03d}.safetensors", step);
  write_safetensors(dir_ / file, {{"latents", latents.to(at::kFloat)},
                                  {"prediction", prediction.to(at::kFloat)}});
  steps_.push_back({{"step", step}, {"timestep", timestep}, {"file", file}});
}

void LatentDump::add_tensor(const std::string& name, const at::Tensor& tensor) {
  if (dir_.empty()) return;
  write_safetensors(dir_ / (name + ".safetensors"), {{name, tensor.to(at::kFloat)}});
}

void LatentDump::finish(const GenerateRequest& request, const std::string& variant,
                        const std::string& sampler) {
  if (dir_.empty()) return;
  nlohmann::json manifest = {{"prompt", request.prompt},
                             {"seed", request.seed},
                             {"sampler", sampler},
                             {"variant", variant},
                             {"tensors",
                              {{"latents", "the sample after this step, [1, z, T, h, w]"},
                               {"prediction", "the guided velocity at this step"}}},
                             {"steps", steps_}};
  io::write_file_atomic(dir_ / "manifest.json", manifest.dump(2) + "\n");
}

}  // namespace rayvid::engine
