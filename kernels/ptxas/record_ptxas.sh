#!/usr/bin/env bash
# record_ptxas.sh REPORT_DIR COMPILE_COMMAND...
# CMake's CUDA compiler launcher for rayvid_kernels_cuda: runs the nvcc compile (built with
# -Xptxas=-v) and keeps ptxas's resource report in REPORT_DIR/<object>.ptxas.txt for
# check_ptxas.py. The build log shows only what is not part of the report (warnings, errors).
set -uo pipefail
report_dir=$1
shift
out=""
prev=""
for arg in "$@"; do
  [ "$prev" = "-o" ] && out=$arg
  prev=$arg
done
mkdir -p "$report_dir"
report="$report_dir/$(basename "${out:-unknown}" .o).ptxas.txt"
tmp="$report.tmp.$$"
"$@" 2>"$tmp"
rc=$?
grep -v -e '^ptxas info' -e 'bytes stack frame' "$tmp" >&2
if [ $rc -eq 0 ]; then mv "$tmp" "$report"; else rm -f "$tmp"; fi
exit $rc
