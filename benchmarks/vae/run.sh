#!/usr/bin/env bash
# benchmarks/vae/run.sh [build-dir]: WanVAE decode, rayvid vs diffusers, same CPU, same run.
# Builds bench_wan_vae, writes a real-architecture Wan2.1 VAE with random weights (once), then
# for each size runs both implementations in fresh processes and prints one JSON line per run
# (time, peak RSS over the pre-decode baseline, and rayvid's memory-model prediction).
# Results go to stdout and $RAYVID_BENCH_OUT/results.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build}"
py=.venv/bin/python
out="${RAYVID_BENCH_OUT:-/tmp/rayvid_bench_vae}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
cmake --build "$build" --target bench_wan_vae >/dev/null
[ -f "$out/vae/config.json" ] || $py benchmarks/vae/make_bench_vae.py "$out/vae"
: > "$out/results.jsonl"
# latent T H W [dtype] [tile overlap]; Wan2.1: 8 px per latent px, 4 frames per latent frame
sizes=(
  "2 16 16 fp32"        # 5 x 128 x 128
  "2 16 24 fp32"        # 5 x 128 x 192
  "2 24 24 fp32"        # 5 x 192 x 192
  "2 24 24 fp32 96 32"  # 5 x 192 x 192 in 96 px tiles (stride 64)
  "2 16 16 bf16"        # 5 x 128 x 128
)
for size in "${sizes[@]}"; do
  "$build/benchmarks/vae/bench_wan_vae" "$out/vae" $size | tee -a "$out/results.jsonl"
  $py benchmarks/vae/bench_diffusers.py "$out/vae" $size 2>/dev/null | tee -a "$out/results.jsonl"
done
.venv/bin/python benchmarks/vae/format_results.py "$out/results.jsonl"
