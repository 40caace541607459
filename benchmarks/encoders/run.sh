#!/usr/bin/env bash
# benchmarks/encoders/run.sh: the encoder micro-benchmark, rayvid and transformers in the same run,
# on the same random-weight mid-size models (umT5 at XXL width with 2 layers, CLIP ViT-H/14 with
# 4 layers), same threads (BENCH_THREADS, default 2), same warm-up and iterations.
# Writes benchmarks/encoders/RESULTS.md (the table part between the markers).
#   needs: scripts/build (target bench_encoders) and the test fixtures (scripts/test makes them)
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build}"
work="${BENCH_WORK:-$(mktemp -d /tmp/rayvid-bench-encoders.XXXXXX)}"
trap '[ -z "${BENCH_WORK:-}" ] && rm -rf "$work"' EXIT
cmake --build "$build" -j "${RAYVID_JOBS:-$(nproc)}" --target bench_encoders > /dev/null
py=.venv/bin/python
[ -f "$work/ref_outputs.safetensors" ] || $py benchmarks/encoders/bench_encoders.py make "$work"
echo "== transformers"; $py benchmarks/encoders/bench_encoders.py run "$work" "$work/python.json" > /dev/null
echo "== rayvid"; "$build/benchmarks/encoders/bench_encoders" "$work" "$work/cpp.json" > /dev/null
table=$($py benchmarks/encoders/bench_encoders.py report "$work")
echo "$table"
results=benchmarks/encoders/RESULTS.md
stamp="$(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
$py - "$results" "$stamp" "$table" <<'PY'
import sys, re
path, stamp, table = sys.argv[1:]
text = open(path).read()
block = f"<!-- results:begin -->\nMeasured {stamp}:\n\n{table}\n<!-- results:end -->"
text = re.sub(r"<!-- results:begin -->.*<!-- results:end -->", lambda m: block, text, flags=re.S)
open(path, "w").write(text)
PY
