// Encoder micro-benchmark, rayvid side: the same models, inputs, warm-up and iteration counts as
// bench_encoders.py (run.sh runs both). Usage: bench_encoders DIR OUT.json
//   DIR: made by `bench_encoders.py make DIR` (text_encoder/, tokenizer/, image_encoder/,
//        image_processor/, image_832x480.png, ref_outputs.safetensors)
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/image.h"
#include "io/safetensors.h"
#include "models/clip/image_encoder.h"
#include "models/umt5/text_encoder.h"

namespace {

namespace fs = std::filesystem;
using namespace rayvid;

// The pipeline encodes the prompt and the negative prompt in two batch-1 calls; we time one.
const std::vector<std::string> kPrompts = {
    "A red fox walks slowly across the snowy streets of Zürich at golden hour. The camera pans "
    "slowly to the left. Cinematic, 35mm film grain."};

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

double status_mib(const std::string& key) {  // /proc/self/status VmRSS / VmHWM
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) / 1024.0;
  }
  return 0;
}

void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }

// `rss_before_load`: RSS before the component was loaded; resident_mib = what load + warm-up
// left resident (fp32 weights are memory-mapped and count once touched).
nlohmann::json timed(const std::function<void()>& fn, int iters, double rss_before_load) {
  fn();  // warm-up
  reset_peak();
  const double rss0 = status_mib("VmRSS");
  const double resident = rss0 - rss_before_load;
  std::vector<double> times;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  const double median = times.size() % 2
                            ? times[times.size() / 2]
                            : 0.5 * (times[times.size() / 2 - 1] + times[times.size() / 2]);
  return {{"median_s", median},
          {"min_s", times.front()},
          {"iters", iters},
          {"peak_extra_mib", status_mib("VmHWM") - rss0},
          {"resident_mib", resident}};
}

double rel_err(const at::Tensor& out, const at::Tensor& ref) {
  return ((out.to(at::kFloat) - ref).norm() / ref.norm()).item<double>();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fmt::print(stderr, "usage: bench_encoders DIR OUT.json\n");
    return 2;
  }
  const fs::path dir = argv[1];
  const int threads = env_int("BENCH_THREADS", 2);
  at::set_num_threads(threads);
  c10::InferenceMode guard;
  nlohmann::json res = {{"side", "rayvid C++ (LibTorch 2.15)"}, {"threads", threads}};
  const auto ref = io::WeightStore::open_file(dir / "ref_outputs.safetensors");
  const auto image = io::read_image(dir / "image_832x480.png");
  const char* dtypes_env = std::getenv("BENCH_DTYPES");
  const std::string dtypes = dtypes_env ? dtypes_env : "fp32";
  for (auto [name, dtype] : {std::pair{"fp32", at::kFloat}, {"bf16", at::kBFloat16}}) {
    if (dtypes.find(name) == std::string::npos) continue;
    {
      const double rss0 = status_mib("VmRSS");
      const auto te =
          models::umt5::TextEncoder::load(dir / "text_encoder", dir / "tokenizer", at::kCPU, dtype);
      auto r = timed([&] { te.encode(kPrompts); }, env_int("BENCH_TEXT_ITERS", 3), rss0);
      res[fmt::format("text_{}", name)] = r;
      if (dtype == at::kFloat) {
        res["parity"]["prompt_embeds_rel_err"] =
            rel_err(te.encode(kPrompts), ref.tensor("prompt_embeds"));
      }
    }
    {
      const double rss0 = status_mib("VmRSS");
      const auto ie = models::clip::ImageEncoder::load(dir / "image_encoder",
                                                       dir / "image_processor", at::kCPU, dtype);
      auto r = timed([&] { ie.encode(image); }, env_int("BENCH_IMAGE_ITERS", 5), rss0);
      res[fmt::format("image_{}", name)] = r;
      if (dtype == at::kFloat) {
        res["parity"]["image_embeds_rel_err"] =
            rel_err(ie.encode(image), ref.tensor("image_embeds"));
      }
    }
  }
  res["peak_rss_mib"] = status_mib("VmHWM");
  std::ofstream(argv[2]) << res.dump(1) << "\n";
  fmt::print("{}\n", res.dump(1));
  return 0;
}
