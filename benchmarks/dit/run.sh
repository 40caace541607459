#!/usr/bin/env bash
# benchmarks/dit/run.sh: one Wan2.1-1.3B DiT forward at 480x272x17 (2,550 tokens), rayvid
# (bench_dit) next to diffusers (bench_dit_diffusers.py), fp32 and bf16, same CPU, same threads,
# one process per measurement. Prints each result and the ratios (diffusers / rayvid).
#   OMP_NUM_THREADS=2 benchmarks/dit/run.sh [build-dir] [extra args for both, e.g. --batch 2]
# Run it on an otherwise idle machine: it takes minutes per measurement on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build}"
shift || true
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
[ -x "$build/benchmarks/dit/bench_dit" ] || cmake --build "$build" --target bench_dit
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for dtype in ${RAYVID_BENCH_DTYPES:-fp32 bf16}; do
  echo "== $dtype: rayvid"
  "$build/benchmarks/dit/bench_dit" --dtype "$dtype" "$@" | tee -a "$log"
  echo "== $dtype: diffusers"
  .venv/bin/python benchmarks/dit/bench_dit_diffusers.py --dtype "$dtype" "$@" | tee -a "$log"
done
echo
.venv/bin/python - "$log" <<'PY'
import json, sys
rows = [json.loads(l.split("RESULT ", 1)[1]) for l in open(sys.argv[1]) if l.startswith("RESULT ")]
by = {(r["impl"], r["dtype"]): r for r in rows}
# weights: RSS once the weights exist; ready: + what is prepared before the steps (rayvid's prompt
# K/V cache); fwd peak: peak RSS during the forward; extra: fwd peak - ready.
print(f"{'dtype':6} {'impl':10} {'forward s':>10} {'weights':>9} {'ready':>9} {'fwd peak':>9} {'extra':>8} {'proc peak':>10}")
for dtype in sorted({r["dtype"] for r in rows}, key=lambda d: d != "fp32"):
    for impl in ("rayvid", "diffusers"):
        r = by.get((impl, dtype))
        if r:
            print(f"{dtype:6} {impl:10} {r['forward_s']:10.2f} {r['rss_weights_mib']:7.0f}Mi {r['rss_ready_mib']:7.0f}Mi"
                  f" {r['forward_peak_mib']:7.0f}Mi {r['forward_peak_mib'] - r['rss_ready_mib']:6.0f}Mi"
                  f" {r['process_peak_mib']:8.0f}Mi")
    a, b = by.get(("rayvid", dtype)), by.get(("diffusers", dtype))
    if a and b:
        print(f"{dtype:6} {'ratio':10} {b['forward_s'] / a['forward_s']:9.2f}x  (diffusers / rayvid: time; "
              f"process peak {b['process_peak_mib'] / a['process_peak_mib']:.2f}x; forward extra "
              f"{(b['forward_peak_mib'] - b['rss_ready_mib']) / max(1, a['forward_peak_mib'] - a['rss_ready_mib']):.2f}x)")
PY
