#!/usr/bin/env bash
# Step caching, the distill recipe and dropped guidance against the uncached 50-step guided UniPC
# baseline, on the bundled demo model (text-to-video, 960x544, 33 frames): for each setting the DiT
# forwards that ran (one per branch and step; a step whose blocks were reused counts 0), the
# denoising seconds, both as ratios to the baseline measured in the same run, and the output's
# PSNR/SSIM against the baseline's (rayvid analyze --compare).
#
#   benchmarks/cache/run.sh [BUILD_DIR]     (default build/; writes benchmarks/cache/results.md)
#
# The demo model has random weights: its time MLP moves the embedding by ~100% per step (a trained
# one by a few %), so TeaCache's published polynomial puts every step far above any threshold and
# skips nothing; MagCache's schedule depends on its published ratios only, FirstBlockCache's on the
# model's activations.
#
# baseline-again repeats the baseline: its latents and decoded frames are the baseline's bit for
# bit, but libx264 encodes the same frames differently from run to run (seen at 960x544, not at
# 320x192; the encoder's inputs hashed equal), so the PSNR of two identical runs' MP4s is ~37 dB,
# not infinite. That row is the floor of the MP4-level PSNR/SSIM below; the latent-level error of
# `rayvid bench --caches` is exact.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
rayvid="$build/src/rayvid"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
common=(--prompt "a red fox runs through fresh snow, tracking shot" --width 960 --height 544
        --frames 33 --seed 1 -q)
names=(baseline baseline-again teacache-0.08 teacache-0.2 magcache-0.12-K4 fbcache-0.05
       guidance-until-0.5 distill-4step)
flags=("--steps 50"
       "--steps 50"
       "--steps 50 --cache teacache --cache-threshold 0.08 --cache-table t2v-1.3b"
       "--steps 50 --cache teacache --cache-threshold 0.2 --cache-table t2v-1.3b"
       "--steps 50 --cache magcache --cache-threshold 0.12 --cache-max-skip 4 --cache-table t2v-1.3b"
       "--steps 50 --cache fbcache --cache-threshold 0.05"
       "--steps 50 --guidance-until 0.5"
       "--recipe distill-4step")
for i in "${!names[@]}"; do
  echo "cache bench: ${names[$i]}" >&2
  # shellcheck disable=SC2086
  "$rayvid" generate "${common[@]}" ${flags[$i]} --output "$out/${names[$i]}.mp4" > /dev/null
  if [ "$i" -gt 0 ]; then
    "$rayvid" analyze "$out/${names[$i]}.mp4" --compare "$out/baseline.mp4" --no-plots \
      -o "$out/${names[$i]}-analysis" > /dev/null
  fi
done
.venv/bin/python - "$out" "${names[@]}" > benchmarks/cache/results.md <<'PY'
import json, platform, subprocess, sys
out, names = sys.argv[1], sys.argv[2:]
def forwards(s):
    guided = s["guided_steps"]
    per_step = [2 if i < guided else 1 for i in range(s["steps"])]
    reused = set((s.get("step_cache") or {}).get("steps_reused", []))
    return sum(n for i, n in enumerate(per_step) if i not in reused)
rows, base = [], None
for name in names:
    s = json.load(open(f"{out}/{name}.json"))
    f, t = forwards(s), s["timings_seconds"]["denoise"]
    if base is None:
        base = (f, t)
        psnr = ssim = "-"
    else:
        c = json.load(open(f"{out}/{name}-analysis/analysis.json"))["compare"]
        psnr, ssim = f"{c['mean_psnr_db']:.2f}", f"{c['mean_ssim']:.4f}"
    cache = s.get("step_cache") or {}
    rows.append(f"| {name} | {s['steps']} | {f} | {f / base[0]:.3f} | {t:.2f} | {t / base[1]:.3f} | "
                f"{len(cache.get('steps_reused', []))} | {psnr} | {ssim} |")
cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout.strip()
print("# Step caching, distill recipe, dropped guidance: the demo model\n")
print(f"`benchmarks/cache/run.sh` on {cpu or platform.processor()} ({subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} threads), "
      "bundled demo model (random weights), text-to-video 960x544x33, seed 1, fp32. Forwards: DiT "
      "forwards that ran the blocks, one per branch and step. PSNR/SSIM: the output against the "
      "baseline's, per frame, mean.\n")
print("| setting | steps | DiT forwards | vs baseline | denoise s | vs baseline | steps reused | PSNR dB | SSIM |")
print("|---|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
PY
cat benchmarks/cache/results.md
