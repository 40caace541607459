#!/usr/bin/env bash
# benchmarks/arch/run.sh: `rayvid bench --arch` next to the same architecture, shape, steps and
# guidance through diffusers' WanPipeline (bench_arch_diffusers.py), same CPU, same threads, one
# process each. Prints both and the ratios (diffusers / rayvid).
#   OMP_NUM_THREADS=2 [RAYVID_BENCH_STEPS=N] benchmarks/arch/run.sh [build-dir] [extra args for both,
#   e.g. --no-decode]
# Defaults: Wan2.1 T2V-1.3B at 480x272x17, fp32, 1 warm-up + 1 timed guided step, one VAE decode.
# Run it on an otherwise idle machine: 15-25 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build}"
shift || true
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
arch="${RAYVID_BENCH_ARCH:-wan2.1-1.3b}"
steps="${RAYVID_BENCH_STEPS:-1}"
common=(--arch "$arch" --width 480 --height 272 --frames 17 --steps "$steps" --warmup 1 "$@")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== rayvid"
"$build/src/rayvid" bench "${common[@]}" --device cpu --dtype fp32 --json "$out/rayvid.json"
echo "== diffusers"
.venv/bin/python benchmarks/arch/bench_arch_diffusers.py "${common[@]}" --dtype fp32 | tee "$out/diffusers.log"
.venv/bin/python - "$out/rayvid.json" "$out/diffusers.log" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
d = json.loads([l for l in open(sys.argv[2]) if l.startswith("RESULT ")][-1].split("RESULT ", 1)[1])
print(f"\n{'':10} {'s/step':>9} {'VAE decode s':>13} {'peak GiB':>9}")
for name, x in (("rayvid", r), ("diffusers", d)):
    print(f"{name:10} {x['step_median_seconds']:9.2f} {x['vae_decode_seconds']:13.2f} {x['peak_memory_bytes'] / 2**30:9.2f}")
print(f"{'ratio':10} {d['step_median_seconds'] / r['step_median_seconds']:8.2f}x "
      f"{d['vae_decode_seconds'] / max(r['vae_decode_seconds'], 1e-9):12.2f}x "
      f"{d['peak_memory_bytes'] / r['peak_memory_bytes']:8.2f}x   (diffusers / rayvid)")
PY
