// Drives Engine::generate for the sampler benchmark and compares each run with the reference.
#include <ATen/ATen.h>

#include <fmt/format.h>

#include "analysis/frame_metrics.h"
#include "core/check.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "io/video.h"
#include "tools/bench/sampler_bench.h"

namespace rayvid::tools::bench {
namespace fs = std::filesystem;
namespace {

// The last step's latent from a --dump-latents folder (manifest.json lists the steps in order).
fs::path last_latents(const fs::path& dir) {
  const io::JsonFile manifest = io::JsonFile::load(dir / "manifest.json");
  const auto& steps = manifest.json().at("steps");
  RAYVID_CHECK(steps.is_array() && !steps.empty(), Internal, "{}: the latent dump lists no steps",
               (dir / "manifest.json").string());
  return dir / steps.back().at("file").get<std::string>();
}

SamplerRecord run_case(Engine& engine, const SamplerBenchOptions& options, const SamplerCase& c) {
  GenerateRequest request = options.base;
  request.sampler = c.sampler;
  request.steps = c.steps;
  std::string stem = fmt::format("{}_{}", c.sampler, c.steps);
  if (!c.cache.empty()) {
    request.cache = c.cache;
    request.cache_threshold = c.cache_threshold;
    if (c.cache == "fbcache") request.cache_table.clear();  // it uses no published table
    stem += fmt::format("_{}_{:g}", c.cache, c.cache_threshold);
  } else {
    request.cache_table.clear();  // the table is for the cached cases only
  }
  request.output = (options.out_dir / "videos" / (stem + ".mp4")).string();
  request.dump_latents_dir = (options.out_dir / "latents" / stem).string();
  request.analyze = false;
  fs::create_directories(options.out_dir / "videos");
  SamplerRecord record = make_record(c, engine.generate(request, options.progress));
  record.latents_file = last_latents(request.dump_latents_dir).string();
  if (options.expected_motion)
    record.motion = check_motion(
        analysis::track_colours(record.result.video_path, {options.expected_motion->colour})[0],
        *options.expected_motion);
  return record;
}

}  // namespace

void compare_with_reference(SamplerRecord& record, const SamplerRecord& reference) {
  {
    c10::InferenceMode guard;
    const auto z =
        io::SafetensorsFile::open(record.latents_file)->tensor("latents");  // [1, z, T, h, w]
    const auto z_ref =
        io::SafetensorsFile::open(reference.latents_file)->tensor("latents");  // [1, z, T, h, w]
    RAYVID_CHECK(z.sizes() == z_ref.sizes(), Internal,
                 "latents of {} and the reference {} differ in shape", record.which.label(),
                 reference.which.label());
    record.latent_rel_error =
        ((z.to(at::kDouble) - z_ref.to(at::kDouble)).norm() / z_ref.to(at::kDouble).norm())
            .item<double>();
  }
  const io::DecodedVideo video = io::read_video(record.result.video_path);
  const io::DecodedVideo ref = io::read_video(reference.result.video_path);
  const int n = std::min(video.frames.num_frames, ref.frames.num_frames);
  RAYVID_CHECK(
      n > 0 && video.frames.width == ref.frames.width && video.frames.height == ref.frames.height,
      Internal, "videos of {} and the reference differ in size", record.which.label());
  double psnr = 0, ssim = 0;
  for (int i = 0; i < n; ++i) {
    psnr += analysis::psnr(analysis::view(video.frames, i), analysis::view(ref.frames, i));
    ssim += analysis::ssim(analysis::view(video.frames, i), analysis::view(ref.frames, i));
  }
  record.psnr = psnr / n;
  record.ssim = ssim / n;
}

std::vector<SamplerRecord> run_sampler_bench(Engine& engine, const SamplerBenchOptions& options) {
  RAYVID_CHECK(!options.cases.empty(), BadArgument,
               "the sampler benchmark needs at least one case");
  SamplerRecord reference = run_case(engine, options, options.reference);
  reference.is_reference = true;
  std::vector<SamplerRecord> records;
  bool reference_in_grid = false;
  for (const auto& c : options.cases) {
    if (c == options.reference) {
      records.push_back(reference);
      reference_in_grid = true;
      continue;
    }
    SamplerRecord record = run_case(engine, options, c);
    compare_with_reference(record, reference);
    records.push_back(std::move(record));
  }
  if (!reference_in_grid) records.insert(records.begin(), reference);
  return records;
}

}  // namespace rayvid::tools::bench
