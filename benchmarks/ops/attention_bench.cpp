// bench_attention: rayvid's flash attention kernel against at::scaled_dot_product_attention at
// Wan's shapes, in TFLOP/s (4 * B * H * Lq * Lk * D FLOP per call) and as a fraction of the
// H100's 989 TFLOP/s dense bf16. Also reports the max difference between the two outputs.
// Without a GPU (or without the CUDA kernels in this build) it says so and exits 0.
//   bench_attention [iterations]   (default 20)
#include <ATen/ATen.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "ops/attention_cuda.h"

#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace {

struct Shape {
  const char* name;
  int64_t batch, heads, q_len, kv_len, head_dim;
};

// Wan2.1/2.2 at their working resolutions (81 frames -> 21 latent frames, 2x2 patches).
constexpr Shape kShapes[] = {
    {"Wan2.1-14B 480p self-attn", 1, 40, 32760, 32760, 128},
    {"Wan2.1-14B 480p cross-attn (512 text)", 1, 40, 32760, 512, 128},
    {"Wan2.1-1.3B 480p self-attn", 1, 12, 32760, 32760, 128},
    {"Wan2.2-TI2V-5B 704p self-attn", 1, 24, 27280, 27280, 128},
    {"Wan2.1-14B 720p self-attn", 1, 40, 75600, 75600, 128},
    {"tiny d64, ragged", 2, 4, 4099, 1031, 64},
};

}  // namespace

int main(int argc, char** argv) {
#if defined(RAYVID_HAVE_CUDA_KERNELS) && defined(RAYVID_TORCH_HAS_CUDA)
  if (!at::hasCUDA()) {
    std::printf("bench_attention: needs a GPU (none visible); nothing measured\n");
    return 0;
  }
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 20;
  c10::InferenceMode guard;
  std::printf("%-40s %10s %10s %10s %10s %8s %10s\n", "shape", "rayvid ms", "TFLOP/s", "sdpa ms",
              "TFLOP/s", "vs H100", "max diff");
  for (const Shape& s : kShapes) {
    const auto opts = at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA);
    const at::Tensor q = at::randn({s.batch, s.q_len, s.heads, s.head_dim}, opts);  // [B, Lq, H, D]
    const at::Tensor k =
        at::randn({s.batch, s.kv_len, s.heads, s.head_dim}, opts);  // [B, Lk, H, D]
    const at::Tensor v =
        at::randn({s.batch, s.kv_len, s.heads, s.head_dim}, opts);  // [B, Lk, H, D]
    at::Tensor out = at::empty_like(q);
    auto run_rayvid = [&] {
      if (!rayvid::ops::rayvid_attention_cuda(q, k, v, out)) {
        std::fprintf(stderr, "rayvid attention declined %s\n", s.name);
        std::exit(1);
      }
    };
    auto run_sdpa = [&] {
      return at::scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2),
                                              v.transpose(1, 2))
          .transpose(1, 2);  // [B, Lq, H, D]
    };
    auto time_ms = [&](auto&& fn) {
      fn();
      c10::cuda::device_synchronize();
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < iterations; ++i) fn();
      c10::cuda::device_synchronize();
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                 .count() /
             iterations;
    };
    const double flop = 4.0 * s.batch * s.heads * s.q_len * s.kv_len * s.head_dim;
    const double ms_rayvid = time_ms(run_rayvid);
    const double ms_sdpa = time_ms(run_sdpa);
    const double diff = (out.to(at::kFloat) - run_sdpa().to(at::kFloat)).abs().max().item<double>();
    const double tflops_rayvid = flop / ms_rayvid / 1e9, tflops_sdpa = flop / ms_sdpa / 1e9;
    std::printf("%-40s %10.3f %10.1f %10.3f %10.1f %7.1f%% %10.2e\n", s.name, ms_rayvid,
                tflops_rayvid, ms_sdpa, tflops_sdpa, 100.0 * tflops_rayvid / 989.0, diff);
  }
  return 0;
#else
  (void)argc;
  (void)argv;
  std::printf(
      "bench_attention: needs a GPU and a CUDA build (RAYVID_HAVE_CUDA); nothing measured\n");
  return 0;
#endif
}
