// Formatting of cost plans, and reading measured runs back for measured-over-floor ratios.
#include "tools/bench/plan_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/check.h"
#include "io/json_file.h"

namespace rayvid::tools::bench {
namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

std::string human_flops(double flops) {
  if (flops >= 1e15) return fmt::format("{:.2f} PFLOP", flops / 1e15);
  if (flops >= 1e12) return fmt::format("{:.1f} TFLOP", flops / 1e12);
  return fmt::format("{:.1f} GFLOP", flops / 1e9);
}

std::string human_bytes(double bytes) {
  if (bytes >= 1e9) return fmt::format("{:.2f} GB", bytes / 1e9);
  return fmt::format("{:.1f} MB", bytes / 1e6);
}

std::string human_seconds(double s) {
  if (s >= 7200) return fmt::format("{:.1f} h", s / 3600);
  if (s >= 120) return fmt::format("{:.0f} min {:.0f} s", std::floor(s / 60), std::fmod(s, 60.0));
  if (s >= 1) return fmt::format("{:.2f} s", s);
  return fmt::format("{:.1f} ms", s * 1e3);
}

MeasuredRun read_measured_run(const std::filesystem::path& file, const std::string& label_hint) {
  const nlohmann::json j = io::JsonFile::load(file).json();
  MeasuredRun m;
  if (j.contains("runs") && j["runs"].is_array() && !j["runs"].empty()) {
    const nlohmann::json* run = &j["runs"][0];
    for (const auto& r : j["runs"])
      if (r.value("label", "") == label_hint) run = &r;
    RAYVID_CHECK(run->contains("seconds_per_step_median"), BadInput,
                 "--measured {}: run has no seconds_per_step_median; pass a `rayvid bench` JSON",
                 file.string());
    m.seconds_per_step = (*run)["seconds_per_step_median"].get<double>();
    m.total_seconds = run->value("total_seconds", 0.0);
    m.label = fmt::format("{} ({})", file.filename().string(), run->value("label", "run 0"));
    return m;
  }
  RAYVID_CHECK(
      j.contains("step_seconds") && j["step_seconds"].is_array() && !j["step_seconds"].empty(),
      BadInput,
      "--measured {}: neither a `rayvid bench` JSON (\"runs\") nor a generate sidecar with "
      "\"step_seconds\"",
      file.string());
  auto steps = j["step_seconds"].get<std::vector<double>>();
  if (steps.size() > 1) steps.erase(steps.begin());  // warm-up step
  m.seconds_per_step = median(steps);
  if (j.contains("timings")) m.total_seconds = j["timings"].value("total", 0.0);
  m.label = file.filename().string();
  return m;
}

std::string format_plan(const CostPlan& p, const std::optional<MeasuredRun>& measured) {
  const auto& a = p.arch;
  const auto& t = p.tokens;
  std::string s;
  s += fmt::format("{} at {}x{}x{} frames on {} ({})\n", a.description, p.shape.width,
                   p.shape.height, p.shape.frames, p.device.description,
                   p.dtype_bytes == 4 ? "fp32" : "bf16");
  s += fmt::format("  device: {:.4g} TFLOP/s, {:.0f} GB/s, {:.0f} GB  [{}]\n",
                   p.device.matmul_tflops, p.device.bandwidth_gbs, p.device.memory_gb,
                   p.device.source);
  s +=
      fmt::format("  tokens: {} video ({} x {} x {} latent, {}x{} patches) + {} context\n", t.video,
                  t.latent_frames, t.latent_height, t.latent_width, a.patch, a.patch, t.context);
  const double share = p.forward.attention / p.forward.total() * 100;
  s += fmt::format("  FLOPs per DiT forward: {} = linear {} + attention {} ({:.0f}% attention)\n",
                   human_flops(p.forward.total()), human_flops(p.forward.linear),
                   human_flops(p.forward.attention), share);
  s += fmt::format("  FLOPs per run: DiT {} ({} steps x {} forwards), VAE decode {}, umT5 {}\n",
                   human_flops(p.forward.total() * p.steps * (p.guided ? 2 : 1)), p.steps,
                   p.guided ? 2 : 1, human_flops(p.vae_flops), human_flops(p.text_encoder_flops));
  const auto& m = p.memory;
  s += fmt::format(
      "  memory: DiT weights {}{}, umT5 {}, VAE/CLIP {}, DiT activations {}, VAE decode "
      "{}\n",
      human_bytes(m.dit_weights), a.experts > 1 ? " (both experts)" : "",
      human_bytes(m.text_encoder_weights), human_bytes(m.other_weights),
      human_bytes(m.dit_activations), human_bytes(m.vae_decode));
  s += fmt::format(
      "  peak (all resident): {} of {:.0f} GB{}\n", human_bytes(m.peak), p.device.memory_gb,
      p.fits ? ""
             : "  -> does not fit all resident: `rayvid bench --memory-table` has each --memory "
               "profile's peak");
  s += fmt::format("  floor: {} per forward, {} per step, VAE decode {}, run {}\n",
                   human_seconds(p.forward_seconds), human_seconds(p.step_seconds),
                   human_seconds(p.vae_seconds), human_seconds(p.run_seconds));
  if (measured) {
    s += fmt::format("  measured ({}): {} per step = {:.2f}x floor", measured->label,
                     human_seconds(measured->seconds_per_step),
                     measured->seconds_per_step / p.step_seconds);
    if (measured->total_seconds > 0)
      s += fmt::format(", run {} = {:.2f}x floor", human_seconds(measured->total_seconds),
                       measured->total_seconds / p.run_seconds);
    s += "\n";
    if (measured->seconds_per_step < p.step_seconds)
      s += "  note: faster than the floor: the measured run used another size, model or device\n";
  }
  return s;
}

nlohmann::json plan_json(const CostPlan& p, const std::optional<MeasuredRun>& measured) {
  nlohmann::json j = {
      {"arch", p.arch.name},
      {"device",
       {{"name", p.device.name},
        {"tflops", p.device.matmul_tflops},
        {"bandwidth_gbs", p.device.bandwidth_gbs},
        {"memory_gb", p.device.memory_gb},
        {"measured", p.device.measured},
        {"source", p.device.source}}},
      {"shape", {{"width", p.shape.width}, {"height", p.shape.height}, {"frames", p.shape.frames}}},
      {"tokens", {{"video", p.tokens.video}, {"context", p.tokens.context}}},
      {"steps", p.steps},
      {"dtype_bytes", p.dtype_bytes},
      {"guided", p.guided},
      {"flops",
       {{"forward_linear", p.forward.linear},
        {"forward_attention", p.forward.attention},
        {"forward_total", p.forward.total()},
        {"vae_decode", p.vae_flops},
        {"text_encoder", p.text_encoder_flops}}},
      {"memory_bytes",
       {{"dit_weights", p.memory.dit_weights},
        {"text_encoder_weights", p.memory.text_encoder_weights},
        {"other_weights", p.memory.other_weights},
        {"dit_activations", p.memory.dit_activations},
        {"vae_decode", p.memory.vae_decode},
        {"peak", p.memory.peak}}},
      {"floor_seconds",
       {{"forward", p.forward_seconds},
        {"step", p.step_seconds},
        {"vae_decode", p.vae_seconds},
        {"run", p.run_seconds}}},
      {"fits", p.fits}};
  if (measured)
    j["measured"] = {
        {"label", measured->label},
        {"seconds_per_step", measured->seconds_per_step},
        {"step_over_floor", measured->seconds_per_step / p.step_seconds},
        {"total_seconds", measured->total_seconds},
        {"run_over_floor", measured->total_seconds > 0
                               ? nlohmann::json(measured->total_seconds / p.run_seconds)
                               : nlohmann::json(nullptr)}};
  return j;
}

}  // namespace rayvid::tools::bench
