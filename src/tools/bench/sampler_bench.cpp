// Sampler benchmark records: parsing, step statistics and the table/JSON/CSV views.
#include "tools/bench/sampler_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "core/check.h"

namespace rayvid::tools::bench {
namespace {

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

int parse_steps(const std::string& text) {
  size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  RAYVID_CHECK(used == text.size() && n > 0, BadArgument,
               "--steps: '{}' is not a positive step count (e.g. --steps 4,8,16)", text);
  return n;
}

void check_sampler(const std::string& s) {
  RAYVID_CHECK(s == "unipc" || s == "euler" || s == "dpm++", BadArgument,
               "--samplers: unknown sampler '{}'; choose from unipc, euler, dpm++", s);
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string opt(const std::optional<double>& v, const char* format) {
  return v ? fmt::format(fmt::runtime(format), *v) : std::string("");
}

}  // namespace

std::vector<SamplerCase> parse_cases(const std::string& samplers, const std::string& steps) {
  const auto names = split(samplers), counts = split(steps);
  RAYVID_CHECK(!names.empty(), BadArgument,
               "--samplers needs at least one sampler, e.g. unipc,euler");
  RAYVID_CHECK(!counts.empty(), BadArgument, "--steps needs at least one step count, e.g. 4,8");
  std::vector<SamplerCase> cases;
  for (const auto& name : names) {
    check_sampler(name);
    for (const auto& count : counts) {
      const SamplerCase c{name, parse_steps(count), "", 0};
      if (std::find(cases.begin(), cases.end(), c) == cases.end()) cases.push_back(c);
    }
  }
  return cases;
}

SamplerCase parse_reference(const std::string& text, const std::vector<SamplerCase>& grid) {
  if (text.empty()) {
    int most = 0;
    for (const auto& c : grid) most = std::max(most, c.steps);
    RAYVID_CHECK(most > 0, BadArgument, "no step counts to choose a reference from");
    return {"unipc", most, "", 0};
  }
  const auto colon = text.find(':');
  RAYVID_CHECK(colon != std::string::npos, BadArgument,
               "--reference '{}': expected SAMPLER:STEPS, e.g. unipc:50", text);
  SamplerCase c{text.substr(0, colon), parse_steps(text.substr(colon + 1)), "", 0};
  check_sampler(c.sampler);
  return c;
}

StepStats step_stats(const std::vector<double>& step_seconds) {
  if (step_seconds.empty()) return {};
  return summarize_steps(std::vector<double>(
      step_seconds.begin() + (step_seconds.size() > 1 ? 1 : 0), step_seconds.end()));
}

StepStats summarize_steps(const std::vector<double>& timed) {
  StepStats s;
  if (timed.empty()) return s;
  s.timed_steps = static_cast<int>(timed.size());
  s.median = median_of(timed);
  s.min = *std::min_element(timed.begin(), timed.end());
  s.max = *std::max_element(timed.begin(), timed.end());
  s.spread = s.max - s.min;
  return s;
}

std::string SamplerCase::label() const {
  std::string s = sampler + ":" + std::to_string(steps);
  if (!cache.empty()) s += fmt::format("+{}:{:g}", cache, cache_threshold);
  return s;
}

std::vector<SamplerCase> parse_cache_cases(const std::string& caches,
                                           const SamplerCase& reference) {
  std::vector<SamplerCase> out;
  std::stringstream list(caches);
  std::string entry;
  while (std::getline(list, entry, ',')) {
    const size_t colon = entry.find(':');
    double threshold = 0;
    const char* first = colon == std::string::npos ? nullptr : entry.data() + colon + 1;
    const char* last = entry.data() + entry.size();
    const auto [end, ec] = first ? std::from_chars(first, last, threshold)
                                 : std::from_chars_result{last, std::errc::invalid_argument};
    RAYVID_CHECK(colon != std::string::npos && ec == std::errc() && end == last && threshold > 0,
                 BadArgument,
                 "--caches entry '{}' is not METHOD:THRESHOLD (e.g. magcache:0.12, teacache:0.08, "
                 "fbcache:0.05)",
                 entry);
    SamplerCase c = reference;
    c.cache = entry.substr(0, colon);
    c.cache_threshold = threshold;
    out.push_back(c);
  }
  return out;
}

ExpectedMotion parse_expected_motion(const std::string& text) {
  const size_t colon = text.rfind(':');
  const std::string direction = colon == std::string::npos ? "" : text.substr(colon + 1);
  RAYVID_CHECK(
      direction == "left" || direction == "right" || direction == "up" || direction == "down",
      BadArgument,
      "--expect-motion '{}': give COLOUR:DIRECTION with DIRECTION left, right, up or down "
      "(e.g. red:left)",
      text);
  return {analysis::parse_colour(text.substr(0, colon)), direction};
}

MotionCheck check_motion(const analysis::ObjectTrack& track, const ExpectedMotion& expected) {
  MotionCheck m;
  m.track = track;
  m.matches = track.direction == expected.direction;
  if (track.direction != "not found" && track.direction != "stays") {
    const double want = expected.direction == "right"  ? 0
                        : expected.direction == "down" ? 90
                        : expected.direction == "left" ? 180
                                                       : 270;  // image axes: +y is down
    const double got = std::atan2(track.dy, track.dx) * 180 / M_PI;
    const double d = std::fmod(std::abs(got - want), 360.0);
    m.angle_error_deg = std::min(d, 360 - d);
  }
  return m;
}

SamplerRecord make_record(const SamplerCase& which, const GenerateResult& result) {
  SamplerRecord r;
  r.which = which;
  r.result = result;
  r.steps = step_stats(result.step_seconds);
  // One forward per branch and step: two on the steps that ran with guidance.
  for (int i = 0; i < result.steps; ++i) {
    const int branches = i < result.guided_steps ? 2 : 1;
    const bool reused = i < static_cast<int>(result.cache_steps.size()) && !result.cache_steps[i];
    (reused ? r.forwards_reused : r.dit_forwards) += branches;
  }
  return r;
}

std::string format_sampler_table(const std::vector<SamplerRecord>& records) {
  std::string s =
      fmt::format("{:<24} {:>5} {:>10} {:>16} {:>9} {:>9} {:>9} {:>10} {:>9} {:>7} {:>10}\n",
                  "sampler", "steps", "s/step", "min..max", "denoise", "decode", "total",
                  "peak mem", "latent", "PSNR", "forwards");
  const bool motion = std::any_of(records.begin(), records.end(),
                                  [](const SamplerRecord& r) { return r.motion.has_value(); });
  if (motion) s.insert(s.size() - 1, fmt::format(" {:>16}", "motion"));
  s += fmt::format("{:<24} {:>5} {:>10} {:>16} {:>9} {:>9} {:>9} {:>10} {:>9} {:>7} {:>10}", "", "",
                   "(median)", "", "s", "s", "s", "GB", "rel.err", "dB", "run/reused");
  s += motion ? fmt::format(" {:>16}\n", "(tracked)") : "\n";
  for (const auto& r : records) {
    const auto& t = r.result.timings;
    s += fmt::format(
        "{:<24} {:>5} {:>10.4f} {:>16} {:>9.2f} {:>9.2f} {:>9.2f} {:>10.2f} {:>9} {:>7} {:>10}\n",
        r.which.sampler + (r.is_reference ? " (ref)" : "") +
            (r.which.cache.empty()
                 ? ""
                 : fmt::format("+{}:{:g}", r.which.cache, r.which.cache_threshold)),
        r.which.steps, r.steps.median, fmt::format("{:.4f}..{:.4f}", r.steps.min, r.steps.max),
        t.denoise, t.vae_decode, t.total, r.result.peak_memory_bytes / 1e9,
        r.is_reference ? std::string("-") : opt(r.latent_rel_error, "{:.2e}"),
        r.is_reference ? std::string("-") : opt(r.psnr, "{:.2f}"),
        fmt::format("{}/{}", r.dit_forwards, r.forwards_reused));
    if (r.motion)
      s.insert(s.size() - 1, fmt::format(" {:>16}", r.motion->track.direction +
                                                        (r.motion->matches ? " ok" : " x")));
  }
  return s;
}

namespace {
nlohmann::json motion_json(const MotionCheck& m) {
  return {{"colour", m.track.colour.name},
          {"direction", m.track.direction},
          {"matches", m.matches},
          {"found_frames", m.track.found_frames},
          {"frames", m.track.frames.size()},
          {"dx", m.track.dx},
          {"dy", m.track.dy},
          {"angle_error_deg",
           m.angle_error_deg ? nlohmann::json(*m.angle_error_deg) : nlohmann::json(nullptr)}};
}
}  // namespace

nlohmann::json sampler_json(const SamplerBenchMeta& meta,
                            const std::vector<SamplerRecord>& records) {
  auto opt_json = [](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& r : records) {
    const auto& t = r.result.timings;
    runs.push_back({{"label", r.which.label()},
                    {"sampler", r.which.sampler},
                    {"steps", r.which.steps},
                    {"reference", r.is_reference},
                    {"video", r.result.video_path},
                    {"latents", r.latents_file},
                    {"step_seconds", r.result.step_seconds},
                    {"timed_steps", r.steps.timed_steps},
                    {"seconds_per_step_median", r.steps.median},
                    {"seconds_per_step_min", r.steps.min},
                    {"seconds_per_step_max", r.steps.max},
                    {"seconds_per_step_spread", r.steps.spread},
                    {"timings",
                     {{"load", t.load},
                      {"text_encode", t.text_encode},
                      {"image_encode", t.image_encode},
                      {"denoise", t.denoise},
                      {"vae_decode", t.vae_decode},
                      {"mux", t.mux},
                      {"total", t.total}}},
                    {"total_seconds", t.total},
                    {"peak_memory_bytes", r.result.peak_memory_bytes},
                    {"latent_rel_error", opt_json(r.latent_rel_error)},
                    {"psnr_db", opt_json(r.psnr)},
                    {"ssim", opt_json(r.ssim)},
                    {"cache", r.which.cache.empty()
                                  ? nlohmann::json(nullptr)
                                  : nlohmann::json({{"method", r.which.cache},
                                                    {"threshold", r.which.cache_threshold}})},
                    {"dit_forwards", r.dit_forwards},
                    {"forwards_reused", r.forwards_reused},
                    {"motion", r.motion ? motion_json(*r.motion) : nlohmann::json(nullptr)}});
  }
  return {{"model", meta.model_dir},
          {"variant", meta.variant},
          {"device", meta.device},
          {"prompt", meta.prompt},
          {"seed", meta.seed},
          {"shape", {{"width", meta.width}, {"height", meta.height}, {"frames", meta.frames}}},
          {"reference", meta.reference.label()},
          {"warm_up", "the first denoise step of each run is excluded from the step statistics"},
          {"runs", runs}};
}

std::string sampler_csv(const std::vector<SamplerRecord>& records) {
  std::string s =
      "label,sampler,steps,reference,seconds_per_step_median,seconds_per_step_min,"
      "seconds_per_step_max,text_encode_seconds,image_encode_seconds,denoise_seconds,"
      "vae_decode_seconds,mux_seconds,total_seconds,peak_memory_gb,latent_rel_error,psnr_db,"
      "ssim,cache,dit_forwards,forwards_reused,motion_direction,motion_matches,"
      "motion_angle_error_deg\n";
  for (const auto& r : records) {
    const auto& t = r.result.timings;
    s += fmt::format(
        "{},{},{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{},{},{}"
        ","
        "{},{},{},{},{},{}\n",
        r.which.label(), r.which.sampler, r.which.steps, r.is_reference ? 1 : 0, r.steps.median,
        r.steps.min, r.steps.max, t.text_encode, t.image_encode, t.denoise, t.vae_decode, t.mux,
        t.total, r.result.peak_memory_bytes / 1e9, opt(r.latent_rel_error, "{:.6g}"),
        opt(r.psnr, "{:.6g}"), opt(r.ssim, "{:.6g}"),
        r.which.cache.empty() ? std::string()
                              : fmt::format("{}:{:g}", r.which.cache, r.which.cache_threshold),
        r.dit_forwards, r.forwards_reused, r.motion ? r.motion->track.direction : "",
        r.motion ? (r.motion->matches ? "1" : "0") : "",
        r.motion ? opt(r.motion->angle_error_deg, "{:.6g}") : std::string());
  }
  return s;
}

}  // namespace rayvid::tools::bench
