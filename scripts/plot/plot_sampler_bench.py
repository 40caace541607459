#!/usr/bin/env python3
"""Time per video against quality per sampler, from `rayvid bench --model ...`'s bench.csv.

usage: plot_sampler_bench.py BENCH_CSV OUT_PNG
x: seconds per video (total), y: PSNR of the decoded frames against the reference run (left) and
relative error of the final latent (right, log scale). One line per sampler, points labelled with
their step counts.
"""
import collections
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["reference"] != "1"]
    by_sampler = collections.defaultdict(list)
    for r in rows:
        by_sampler[r["sampler"]].append(r)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for sampler, runs in sorted(by_sampler.items()):
        runs.sort(key=lambda r: float(r["total_seconds"]))
        t = [float(r["total_seconds"]) for r in runs]
        for ax, column in ((left, "psnr_db"), (right, "latent_rel_error")):
            pts = [(x, float(r[column]), r["steps"]) for x, r in zip(t, runs) if r[column] != ""]
            if not pts:
                continue
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=sampler)
            for x, y, steps in pts:
                ax.annotate(steps, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    left.set_xlabel("seconds per video")
    left.set_ylabel("PSNR vs reference (dB)")
    right.set_xlabel("seconds per video")
    right.set_ylabel("final-latent relative error")
    right.set_yscale("log")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Samplers: time against quality (labels: steps)")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=120)


if __name__ == "__main__":
    main()
