// `rayvid bench`: three modes.
//   --plan --arch NAME [shape] --device-preset NAME   analytic FLOPs, memory and time floors
//   --arch NAME [shape] (--measure is implied)        the real architecture, random weights
//   --model DIR --samplers a,b --steps 4,8            samplers through Engine::generate
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "apps/commands.h"
#include "apps/plot_runner.h"
#include "apps/progress_printer.h"
#include "core/check.h"
#include "engine/memory_profile.h"
#include "io/atomic_file.h"
#include "pipeline/step_cache.h"
#include "tools/bench/arch_bench.h"
#include "tools/bench/memory_table.h"
#include "tools/bench/plan_report.h"
#include "tools/bench/sampler_bench.h"

namespace rayvid::apps {
namespace fs = std::filesystem;
namespace tb = tools::bench;
namespace {

struct BenchFlags {
  bool memory_table = false;
  bool plan = false, measure = false, no_guidance = false, no_decode = false, quiet = false,
       no_plots = false;
  int warmup = 1;
  std::string sampler = "unipc";
  std::string arch, device_preset = "h100", measured, measured_run, json;
  std::string size = "16:9", resolution, duration = "5s";
  int width = 0, height = 0, frames = 0;
  std::string steps;
  // Sampler benchmark
  std::string model, samplers = "unipc,euler", reference, prompt, image, out;
  std::string caches, cache_table, cache, recipe;
  std::string expect_motion;  // COLOUR:DIRECTION
  double guidance_until = 0;
  EngineOptions engine;
  std::string seed = "0";
  double guidance_scale = 0;
  const CLI::Option* guidance_option = nullptr;  // given or not: unset means the model's default
};

pipeline::VideoShape arch_shape(const tb::ArchSpec& arch, const BenchFlags& f) {
  // Default resolution: the variant's native one (480p for Wan2.1 1.3B, 720p otherwise).
  const std::string resolution =
      !f.resolution.empty() ? f.resolution : (arch.name == "wan2.1-1.3b" ? "540p" : "720p");
  pipeline::VideoShape shape =
      pipeline::resolve_preset(arch.presets, f.size, resolution, f.duration);
  if (f.width > 0) shape.width = f.width;
  if (f.height > 0) shape.height = f.height;
  if (f.frames > 0) shape.frames = f.frames;
  return shape;
}

int single_steps(const BenchFlags& f, int fallback) {
  if (f.steps.empty()) return fallback;
  const auto cases = tb::parse_cases("unipc", f.steps);
  RAYVID_CHECK(cases.size() == 1, BadArgument,
               "--plan and --measure take one step count, got --steps {}", f.steps);
  return cases[0].steps;
}

void run_plan(const BenchFlags& f) {
  RAYVID_CHECK(!f.arch.empty(), BadArgument, "--plan needs --arch NAME ({})",
               fmt::join(tb::arch_names(), ", "));
  const tb::ArchSpec arch = tb::arch_spec(f.arch);
  const auto shape = arch_shape(arch, f);
  const auto device = tb::device_preset(f.device_preset);
  RAYVID_CHECK(f.engine.dtype.empty() || f.engine.dtype == "bf16" || f.engine.dtype == "fp16" ||
                   f.engine.dtype == "fp32",
               BadArgument, "--dtype {}: choose fp32, bf16 or fp16", f.engine.dtype);
  const double dtype_bytes = f.engine.dtype == "fp32" ? 4 : 2;  // --plan assumes bf16 by default
  const auto plan = tb::plan_cost(arch, shape, device, single_steps(f, arch.default_steps),
                                  !f.no_guidance, dtype_bytes);
  std::optional<tb::MeasuredRun> measured;
  if (!f.measured.empty()) measured = tb::read_measured_run(f.measured, f.measured_run);
  std::fputs(tb::format_plan(plan, measured).c_str(), stdout);
  if (!f.json.empty()) io::write_file_atomic(f.json, tb::plan_json(plan, measured).dump(2) + "\n");
}

void run_measure(const BenchFlags& f) {
  const tb::ArchSpec arch = tb::arch_spec(f.arch);
  const auto shape = arch_shape(arch, f);
  tb::ArchBenchOptions options;
  options.device = f.engine.device;
  options.dtype = f.engine.dtype;
  options.kernels = f.engine.kernels;
  options.steps = single_steps(f, 3);
  options.warmup_steps = f.warmup;
  options.guided = !f.no_guidance;
  options.decode = !f.no_decode;
  options.seed = parse_seed(f.seed);
  options.sampler = f.sampler;
  options.recipe = f.recipe;
  if (!f.cache.empty()) {  // METHOD:THRESHOLD, as --caches takes one
    const auto parsed = tb::parse_cache_cases(f.cache, {"unipc", 1, "", 0});
    RAYVID_CHECK(parsed.size() == 1, BadArgument, "--cache takes one METHOD:THRESHOLD");
    pipeline::StepCacheSettings s;
    s.method = parsed[0].cache;
    s.threshold = parsed[0].cache_threshold;
    RAYVID_CHECK(s.method == "fbcache" || pipeline::fill_step_cache_table(f.cache_table, s),
                 BadArgument, "--cache {} needs --cache-table ({})", s.method,
                 fmt::join(pipeline::step_cache_table_names(), ", "));
    RAYVID_CHECK(s.method == "fbcache" || s.method == "teacache" || s.method == "magcache",
                 BadArgument, "--cache '{}' is unknown; use teacache, magcache or fbcache",
                 s.method);
    options.step_cache = s;
  }
  if (f.guidance_until > 0) {
    RAYVID_CHECK(f.guidance_until <= 1, BadArgument, "--guidance-until must be within 0 < f <= 1");
    options.guided_steps = static_cast<int>(std::ceil(f.guidance_until * options.steps - 1e-9));
  }
  if (!f.quiet) options.progress = make_progress_printer(ProgressMode::kText);
  const tb::ArchTiming timing = tb::time_architecture(arch, shape, options);
  std::fputs(tb::format_arch_timing(arch, shape, options, timing).c_str(), stdout);
  if (!f.json.empty())
    io::write_file_atomic(f.json,
                          tb::arch_timing_json(arch, shape, options, timing).dump(2) + "\n");
}

void run_samplers(const BenchFlags& f) {
  tb::SamplerBenchOptions options;
  options.cases = tb::parse_cases(f.samplers, f.steps.empty() ? "4,8" : f.steps);
  options.reference = tb::parse_reference(f.reference, options.cases);
  // Step caches run at the reference's sampler and steps: each against the same run uncached.
  for (const auto& c : tb::parse_cache_cases(f.caches, options.reference))
    options.cases.push_back(c);
  if (!f.expect_motion.empty())
    options.expected_motion = tb::parse_expected_motion(f.expect_motion);
  auto& r = options.base;
  r.cache_table = f.cache_table;
  r.prompt = f.prompt.empty() ? "a red fox runs through fresh snow, tracking shot" : f.prompt;
  if (!f.image.empty()) r.image = f.image;
  r.size = f.size;
  if (!f.resolution.empty()) r.resolution = f.resolution;
  r.duration = f.duration;
  // --width/--height/--frames are checked positive when parsed; 0 here means not given.
  if (f.width > 0) r.width = f.width;
  if (f.height > 0) r.height = f.height;
  if (f.frames > 0) r.frames = f.frames;
  r.seed = parse_seed(f.seed);
  if (f.guidance_option->count() > 0) r.guidance_scale = f.guidance_scale;
  options.out_dir = f.out.empty() ? fs::path("rayvid-bench") : fs::path(f.out);
  fs::create_directories(options.out_dir);
  if (!f.quiet) options.progress = make_progress_printer(parse_progress_mode("text", false));

  EngineOptions engine_options = f.engine;
  engine_options.model_dir = f.model;
  auto engine = Engine::open(engine_options);
  const auto records = tb::run_sampler_bench(*engine, options);

  tb::SamplerBenchMeta meta;
  meta.model_dir = f.model;
  meta.variant = engine->variant();
  meta.device = f.engine.device;
  meta.prompt = r.prompt;
  meta.seed = r.seed;
  meta.reference = options.reference;
  const auto& first = records.front().result;
  meta.width = first.width;
  meta.height = first.height;
  meta.frames = first.frames;
  io::write_file_atomic(options.out_dir / "bench.json",
                        tb::sampler_json(meta, records).dump(2) + "\n");
  io::write_file_atomic(options.out_dir / "bench.csv", tb::sampler_csv(records));
  std::fputs(tb::format_sampler_table(records).c_str(), stdout);
  if (!f.no_plots)
    run_plot_script("plot_sampler_bench.py", {(options.out_dir / "bench.csv").string(),
                                              (options.out_dir / "bench.png").string()});
  std::printf("wrote %s\n", options.out_dir.c_str());
}

}  // namespace

void add_bench(CLI::App& app) {
  auto* sub =
      app.add_subcommand("bench", "Plan costs, time an architecture, or benchmark samplers");
  auto f = std::make_shared<BenchFlags>();
  sub->add_flag("--plan", f->plan, "Cost planner: FLOPs, memory and time floors of --arch");
  sub->add_flag("--memory-table", f->memory_table,
                "The memory model's predicted peak device / host memory of every published Wan "
                "variant x resolution x duration x --memory profile on a GPU (bf16; with "
                "--weights fp8, fp8 weight storage), as a Markdown table");
  sub->add_flag("--measure", f->measure,
                "Time --arch with random weights (DiT steps, VAE decode); the default with --arch");
  sub->add_option("--arch", f->arch,
                  fmt::format("Architecture: {}", fmt::join(tb::arch_names(), ", ")));
  sub->add_option("--device-preset", f->device_preset,
                  fmt::format("Device for --plan: {}", fmt::join(tb::device_preset_names(), ", ")))
      ->capture_default_str();
  sub->add_option("--measured", f->measured,
                  "A `rayvid bench` JSON or `rayvid generate` sidecar: show measured over floor");
  sub->add_option("--measured-run", f->measured_run,
                  "Which run of a bench JSON to use, as SAMPLER:STEPS (default: the first)");
  sub->add_option("--json", f->json, "Also write the plan or --arch timing as JSON to this file");
  sub->add_option("--warmup", f->warmup, "--arch: untimed steps before the timed ones")
      ->capture_default_str();
  sub->add_flag("--no-decode", f->no_decode, "--arch: skip the VAE decode");
  sub->add_option("--sampler", f->sampler, "--arch: the sampler of the timed steps")
      ->capture_default_str();
  sub->add_option("--size", f->size, "Aspect preset")->capture_default_str();
  sub->add_option("--resolution", f->resolution,
                  "540p, 720p, 1080p (default: the variant's native)");
  sub->add_option("--duration", f->duration, "5s or 10s")->capture_default_str();
  sub->add_option("--width", f->width, "Override the preset width")->check(CLI::PositiveNumber);
  sub->add_option("--height", f->height, "Override the preset height")->check(CLI::PositiveNumber);
  sub->add_option("--frames", f->frames, "Override the frame count (4n+1)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--steps", f->steps,
                  "Step counts: one for --plan/--measure, a list (4,8) for samplers");
  sub->add_flag("--no-guidance", f->no_guidance, "One forward per step instead of two");
  sub->add_option("--model,-m", f->model, "Sampler benchmark: a diffusers-layout Wan folder");
  sub->add_option("--samplers", f->samplers, "Samplers to compare")->capture_default_str();
  sub->add_option("--reference", f->reference,
                  "Reference run SAMPLER:STEPS (default: unipc at the most steps of --steps)");
  sub->add_option("--caches", f->caches,
                  "Sampler benchmark: step caches to compare with the uncached reference run, as "
                  "METHOD:THRESHOLD,... (teacache, magcache, fbcache)");
  sub->add_option("--cache-table", f->cache_table,
                  "The published TeaCache/MagCache table for --caches (default: the model's own)");
  sub->add_option("--cache", f->cache,
                  "--arch: time the whole schedule with a step cache, METHOD:THRESHOLD (with "
                  "--cache-table for teacache/magcache)");
  sub->add_option("--recipe", f->recipe, "--arch: time a recipe's whole schedule (distill-4step)");
  sub->add_option("--guidance-until", f->guidance_until,
                  "--arch: guidance on the first fraction of the steps only");
  sub->add_option("--expect-motion", f->expect_motion,
                  "Sampler benchmark: COLOUR:DIRECTION (e.g. red:left) the prompt asks for; each "
                  "run's video is tracked (as `rayvid analyze --track`) and scored for it");
  sub->add_option("--prompt,-p", f->prompt, "Prompt of every run");
  sub->add_option("--image,-i", f->image, "Source image (image-to-video models)");
  sub->add_option("--seed", f->seed, "Seed of every run")->capture_default_str();
  f->guidance_option =
      sub->add_option("--guidance-scale,-g", f->guidance_scale, "Guidance (default: the model's)");
  sub->add_option("--device", f->engine.device, "auto, cpu or cuda")->capture_default_str();
  sub->add_option("--dtype", f->engine.dtype, "fp32, bf16 or fp16");
  sub->add_option("--weights", f->engine.weights,
                  "The DiT blocks' Linear weights: auto, fp8 or compute (as rayvid generate)");
  sub->add_option("--kernels", f->engine.kernels, "auto, rayvid, aten, emu or reference")
      ->capture_default_str();
  sub->add_option("--out,-o", f->out, "Sampler benchmark output folder (default: rayvid-bench/)");
  sub->add_flag("--no-plots", f->no_plots, "Skip the matplotlib plot");
  sub->add_flag("--quiet,-q", f->quiet, "No progress output");
  sub->callback([f]() {
    const bool measure = f->measure || (!f->plan && !f->arch.empty());
    const int modes = (f->plan ? 1 : 0) + (measure ? 1 : 0) + (f->model.empty() ? 0 : 1) +
                      (f->memory_table ? 1 : 0);
    RAYVID_CHECK(modes == 1, BadArgument,
                 "choose one mode: --memory-table, --plan --arch NAME, --arch NAME (timed with "
                 "random weights), "
                 "or --model DIR --samplers ... --steps ...");
    RAYVID_CHECK(f->expect_motion.empty() || !f->model.empty(), BadArgument,
                 "--expect-motion scores the sampler benchmark's videos: use it with --model DIR");
    if (f->memory_table) {
      // auto: the table is of the published releases, which are not fp8.
      const bool fp8 = engine::wants_fp8_storage(f->engine.weights, false);
      std::fputs(tb::memory_table_markdown(tb::memory_table(fp8)).c_str(), stdout);
      return;
    }
    if (f->plan) return run_plan(*f);
    if (measure) {
      RAYVID_CHECK(!f->arch.empty(), BadArgument, "--measure needs --arch NAME ({})",
                   fmt::join(tb::arch_names(), ", "));
      return run_measure(*f);
    }
    run_samplers(*f);
  });
}

}  // namespace rayvid::apps
