#!/usr/bin/env python3
"""Plots of `rayvid analyze`'s per-frame CSV: preservation (PSNR/SSIM vs the source), colour drift
(CIEDE2000), motion (DIS flow mean and top-5%), warping error and frame difference over time.

usage: plot_analysis.py PER_FRAME_CSV OUT_DIR
Writes OUT_DIR/preservation.png (when the CSV has source columns), OUT_DIR/motion.png and, with a
--compare video, OUT_DIR/compare.png. Called by `rayvid analyze` unless --no-plots.
"""
import csv
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_columns(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    columns = {}
    for name in rows[0].keys() if rows else []:
        points = [(int(r["frame"]), float(r[name])) for r in rows if r[name] != ""]
        columns[name] = points
    return columns


def series(ax, columns, name, label, **style):
    points = columns.get(name, [])
    if points:
        ax.plot([p[0] for p in points], [p[1] for p in points], label=label, **style)
    return bool(points)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    columns = read_columns(sys.argv[1])
    out = pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)

    if columns.get("source_psnr"):
        fig, axes = plt.subplots(3, 1, figsize=(8, 8), sharex=True)
        series(axes[0], columns, "source_psnr", "PSNR vs source", color="tab:blue")
        axes[0].set_ylabel("PSNR (dB)")
        series(axes[1], columns, "source_ssim", "SSIM vs source", color="tab:green")
        axes[1].set_ylabel("SSIM")
        series(axes[2], columns, "source_delta_e", "mean CIEDE2000", color="tab:red")
        axes[2].set_ylabel("colour drift (ΔE00)")
        axes[2].set_xlabel("frame")
        for ax in axes:
            ax.grid(alpha=0.3)
        fig.suptitle("Source preservation over time")
        fig.tight_layout()
        fig.savefig(out / "preservation.png", dpi=120)
        plt.close(fig)

    fig, axes = plt.subplots(3, 1, figsize=(8, 8), sharex=True)
    series(axes[0], columns, "flow_mean", "mean |flow|", color="tab:blue")
    series(axes[0], columns, "flow_top5", "top-5% |flow| (VBench)", color="tab:orange")
    axes[0].set_ylabel("pixels / frame")
    axes[0].legend()
    series(axes[1], columns, "warp_error", "warping error", color="tab:purple")
    axes[1].set_ylabel("warp MSE")
    axes[1].legend()
    series(axes[2], columns, "abs_diff", "mean |frame difference|", color="tab:gray")
    axes[2].set_ylabel("8-bit levels")
    axes[2].legend()
    axes[2].set_xlabel("frame (pair i-1 → i)")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.suptitle("Motion")
    fig.tight_layout()
    fig.savefig(out / "motion.png", dpi=120)
    plt.close(fig)

    if columns.get("compare_psnr"):
        fig, ax = plt.subplots(figsize=(8, 3.5))
        series(ax, columns, "compare_psnr", "PSNR vs --compare", color="tab:blue")
        ax.set_ylabel("PSNR (dB)")
        ax.set_xlabel("frame")
        ax2 = ax.twinx()
        series(ax2, columns, "compare_ssim", "SSIM", color="tab:green")
        ax2.set_ylabel("SSIM")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "compare.png", dpi=120)
        plt.close(fig)


if __name__ == "__main__":
    main()
