#!/usr/bin/env bash
# The speed options on the real Wan2.1-1.3B architecture (random weights, built in memory by
# `rayvid bench --arch`), 480x272x17 (2,550 tokens), bf16, UniPC, no VAE decode: the whole 50-step
# guided schedule as the baseline, MagCache at the published 1.3B threshold (0.12; K 3 and retention
# 0.2, the defaults of bench --arch, where the MagCache paper uses K 4), and the 4-step
# distill recipe (--guidance-until is measured on the demo model, benchmarks/cache/run.sh). Each run's denoising seconds and DiT forwards, as ratios
# to the baseline measured in the same run of this script. Writes benchmarks/cache/arch-results.md.
#
#   benchmarks/cache/arch.sh [BUILD_DIR]
#
# TeaCache and FirstBlockCache are not timed here: with random weights the time MLP moves its
# embedding by ~100% per step (a trained one by a few %), so TeaCache's published polynomial skips
# no step, and the first block's residual moves as much; both would repeat the baseline.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
common=(bench --arch wan2.1-1.3b --width 480 --height 272 --frames 17 --dtype bf16 --no-decode -q)
names=(baseline magcache-0.12-K3 distill-4step)  # bench --arch: MagCache K 3, retention 0.2
flags=("--steps 50 --guidance-until 1"
       "--steps 50 --cache magcache:0.12 --cache-table t2v-1.3b"
       "--steps 4 --recipe distill-4step")
for i in "${!names[@]}"; do
  echo "arch cache bench: ${names[$i]}" >&2
  # shellcheck disable=SC2086
  "$build/src/rayvid" "${common[@]}" ${flags[$i]} --json "$out/${names[$i]}.json" > /dev/null
done
.venv/bin/python - "$out" "${names[@]}" > benchmarks/cache/arch-results.md <<'PY'
import json, subprocess, sys
out, names = sys.argv[1], sys.argv[2:]
runs = {n: json.load(open(f"{out}/{n}.json")) for n in names}
base = runs[names[0]]
cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout.strip()
print("# Speed options on the Wan2.1-1.3B architecture\n")
print(f"`benchmarks/cache/arch.sh` on {cpu} ({subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} threads): "
      "Wan2.1-1.3B with random weights, 480x272x17 (2,550 tokens), bf16, UniPC unless the recipe says "
      "otherwise, no VAE decode. Seconds: the whole denoising schedule. Forwards: DiT forwards that ran "
      "the blocks (one per branch and step).\n")
print("| setting | steps | DiT forwards | vs baseline | denoise s | vs baseline |")
print("|---|---|---|---|---|---|")
for n in names:
    r = runs[n]
    steps = len(r["step_seconds"])  # the whole schedule: no warm-up in these runs
    print(f"| {n} | {steps} | {r['dit_forwards']} | {r['dit_forwards'] / base['dit_forwards']:.3f} | "
          f"{r['denoise_seconds']:.1f} | {r['denoise_seconds'] / base['denoise_seconds']:.3f} |")
PY
cat benchmarks/cache/arch-results.md
