#!/usr/bin/env python3
"""The memory model (src/engine/memory_model.h) against measured peaks on the CPU.

Two cases this machine can run:
  * the tiny fixture models (tests/fixtures/generated/models), generated end to end by
    `rayvid generate`: the sidecar's estimated_peak_bytes (the planner's memory model) against
    its peak_memory_bytes (the process's peak RSS);
  * real architectures with random weights, `rayvid bench --arch NAME` at a small size: the
    JSON's predicted_peak_bytes against peak_memory_bytes.
The process itself (LibTorch, OpenCV, FFmpeg, ...) is measured too, as the peak RSS of the same
command with --dry-run (everything but the weights and the work), and reported beside the model,
which leaves it out. Writes benchmarks/memory/RESULTS.md.

    .venv/bin/python benchmarks/memory/cpu_peaks.py [--cli build/src/rayvid]
"""
import argparse
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GiB = 1024 ** 3


def maxrss(cmd: list[str]) -> float:
    """Peak RSS in bytes of a command (GNU time's %M is in KiB)."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, check=True)
    return float(out.stderr.strip().splitlines()[-1]) * 1024


def tiny(cli: str, work: Path) -> list[dict]:
    rows = []
    image = ROOT / "tests/fixtures/generated/golden_extra/flf2v/flf2v_first_64x48.png"
    for family in ("wan21_t2v", "wan21_i2v", "wan22_ti2v", "wan22_a14b"):
        model = ROOT / "tests/fixtures/generated/models" / family
        out = work / f"{family}.mp4"
        args = [cli, "generate", "--model", str(model), "--prompt", "a red fox", "--width", "64",
                "--height", "64", "--frames", "9", "--steps", "2", "-q", "--output", str(out)]
        if family == "wan21_i2v":
            args += ["--image", str(image)]
        baseline = maxrss(args + ["--dry-run"])
        subprocess.run(args, check=True, capture_output=True)
        side = json.loads(out.with_suffix(".json").read_text())
        rows.append({"case": f"tiny {family}, 64x64x9, 2 steps", "measured": side["peak_memory_bytes"],
                     "baseline": baseline, "predicted": side["estimated_peak_bytes"]})
    return rows


def arch(cli: str, work: Path) -> list[dict]:
    rows = []
    for name, w, h, f in (("wan2.1-1.3b", 256, 256, 9), ("wan2.1-1.3b", 480, 272, 17)):
        js = work / f"{name}-{w}x{h}.json"
        args = [cli, "bench", "--arch", name, "--width", str(w), "--height", str(h), "--frames", str(f),
                "--steps", "1", "--warmup", "0", "-q", "--json", str(js)]
        subprocess.run(args, check=True, capture_output=True)
        t = json.loads(js.read_text())
        timing = t.get("timing", t)
        rows.append({"case": f"random {name}, {w}x{h}x{f}, 1 step + decode", "measured": timing["peak_memory_bytes"],
                     "baseline": None, "predicted": timing["predicted_peak_bytes"]})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", default=str(ROOT / "build/src/rayvid"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = tiny(args.cli, Path(tmp)) + arch(args.cli, Path(tmp))
    lines = ["# The memory model against measured peaks on the CPU", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GiB:.0f} GiB; "
             "written by `benchmarks/memory/cpu_peaks.py`.", "",
             "measured = the process's peak RSS; process = the same command's peak RSS with --dry-run "
             "(LibTorch and the libraries, no weights; the random-weight runs have no dry run); "
             "predicted = the memory model (which leaves the process out).", "",
             "| case | measured GiB | process GiB | measured - process GiB | predicted GiB | predicted / (measured - process) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        base = r["baseline"] or 0.0
        net = r["measured"] - base
        lines.append(f"| {r['case']} | {r['measured'] / GiB:.3f} | "
                     f"{'-' if r['baseline'] is None else f'{base / GiB:.3f}'} | {net / GiB:.3f} | "
                     f"{r['predicted'] / GiB:.3f} | {r['predicted'] / net:.2f} |")
    (ROOT / "benchmarks/memory/RESULTS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
