// bench_dit: one WanDiT forward at a real Wan architecture (default Wan2.1 T2V-1.3B) with random
// weights made here, on the CPU. Reports the prompt-cache time, the forward time, and memory:
// RSS with the weights loaded, the peak RSS of the forward alone (VmHWM reset just before it)
// and the process peak. The last line is JSON for benchmarks/dit/run.sh.
//   bench_dit --dtype bf16 --frames 17 --height 272 --width 480
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <malloc.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <string>

#include "core/device.h"
#include "models/random_weights.h"
#include "models/wan_dit/model.h"

namespace {
using namespace rayvid::models::wan_dit;

// VmRSS / VmHWM of this process in MiB.
double proc_status_mib(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) / 1024.0;
  return -1;
}

// Resets VmHWM to the current RSS (Linux >= 4.0), so the next peak belongs to what follows.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_dit: one Wan DiT forward with random weights"};
  std::string preset = "wan2.1-t2v-1.3b", dtype_name = "fp32", kernels = "aten", bf16_gemm = "auto";
  int64_t frames = 17, height = 272, width = 480, batch = 1, repeat = 1;
  app.add_option("--preset", preset, "architecture (WanDiTConfig preset)");
  app.add_option("--dtype", dtype_name, "fp32 or bf16");
  app.add_option("--frames", frames, "pixel frames (4n+1)");
  app.add_option("--height", height, "pixel height (multiple of 16)");
  app.add_option("--width", width, "pixel width (multiple of 16)");
  app.add_option("--batch", batch, "batch rows (2 = cond + uncond)");
  app.add_option("--repeat", repeat, "timed forwards (the best is reported)");
  app.add_option("--kernels", kernels, "aten, rayvid, emu or reference (CPU bench: aten)");
  app.add_option("--bf16-gemm", bf16_gemm, "auto, native or fp32");
  CLI11_PARSE(app, argc, argv);

  try {
    c10::InferenceMode guard;
    const WanDiTConfig config = WanDiTConfig::preset(preset);
    WanDiTOptions options;
    options.dtype = rayvid::parse_dtype(dtype_name);
    options.kernels = rayvid::ops::parse_kernel_backend(kernels, options.device);
    options.bf16_gemm = bf16_gemm == "native" ? Bf16Gemm::kNative
                        : bf16_gemm == "fp32" ? Bf16Gemm::kFp32
                                              : Bf16Gemm::kAuto;
    const int64_t latent_frames = (frames - 1) / 4 + 1, latent_h = height / 8, latent_w = width / 8;
    const int64_t tokens = latent_frames * (latent_h / 2) * (latent_w / 2);
    fmt::print(
        "rayvid bench_dit: {} ({}), {}, latent {}x{}x{}x{} -> {} tokens, batch {}, {} threads\n",
        preset, config.summary(), dtype_name, config.in_channels, latent_frames, latent_h, latent_w,
        tokens, batch, at::get_num_threads());

    auto start = std::chrono::steady_clock::now();
    // Drawn as bench_dit_diffusers.py draws (weights N(0, 1/fan_in), norms ~1, small biases),
    // each tensor in its own dtype, so no fp32 temporaries inflate RSS.
    const WanDiT model(config, rayvid::models::RandomWeightSource(0), options);
    const double init_s = seconds_since(start);
    malloc_trim(0);  // hand freed setup memory back, so RSS counts what the model holds
    auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
    const at::Tensor latents =
        at::randn({batch, config.in_channels, latent_frames, latent_h, latent_w}, gen);
    const at::Tensor text = at::randn({batch, 512, config.text_dim}, gen);
    const at::Tensor timestep = at::full({batch}, 500, at::kLong);
    const double rss_weights_mib = proc_status_mib("VmRSS");

    start = std::chrono::steady_clock::now();
    const ContextCache context = model.prepare_context(text);
    const double context_s = seconds_since(start);
    const double rss_ready_mib = proc_status_mib("VmRSS");  // + the prompt's K/V cache

    const double setup_peak_mib = proc_status_mib("VmHWM");  // weights, inputs, prompt cache
    double forward_s = 1e30, forward_peak_mib = 0;
    for (int64_t i = 0; i < repeat; ++i) {
      reset_peak_rss();
      start = std::chrono::steady_clock::now();
      const at::Tensor out = model.forward(latents, timestep, context);
      forward_s = std::min(forward_s, seconds_since(start));
      forward_peak_mib = std::max(forward_peak_mib, proc_status_mib("VmHWM"));
      if (i == 0)
        fmt::print("output [{}] mean {:.4f} std {:.4f}\n", fmt::join(out.sizes(), ", "),
                   out.mean().item<double>(), out.std().item<double>());
    }
    fmt::print("init (random weights) {:.1f} s, prompt cache {:.2f} s, forward {:.2f} s\n", init_s,
               context_s, forward_s);
    fmt::print(
        "RSS with weights {:.0f} MiB, + prompt cache {:.0f} MiB, peak during forward {:.0f} "
        "MiB, process peak {:.0f} MiB\n",
        rss_weights_mib, rss_ready_mib - rss_weights_mib, forward_peak_mib,
        std::max(setup_peak_mib, forward_peak_mib));
    fmt::print(
        "RESULT {{\"impl\": \"rayvid\", \"dtype\": \"{}\", \"tokens\": {}, \"batch\": {}, "
        "\"threads\": {}, \"forward_s\": {:.3f}, \"context_s\": {:.3f}, \"rss_weights_mib\": "
        "{:.0f}, "
        "\"rss_ready_mib\": {:.0f}, \"forward_peak_mib\": {:.0f}, \"process_peak_mib\": {:.0f}}}\n",
        dtype_name, tokens, batch, at::get_num_threads(), forward_s, context_s, rss_weights_mib,
        rss_ready_mib, forward_peak_mib, std::max(setup_peak_mib, forward_peak_mib));
  } catch (const rayvid::Error& e) {
    fmt::print(stderr, "bench_dit: {}\n", e.what());
    return rayvid::exit_code_for(e.category());
  }
  return 0;
}
