"""Sampler x step count on the tiny trained model (models/rayvid-world), scored by what the prompt
asks for: `rayvid bench --expect-motion` on every held-out prompt of the synthetic world, then
aggregated into a table (semantic accuracy, angle to the prompted direction, time, PSNR against
the reference run).

  .venv/bin/python benchmarks/semantic/samplers.py [--cases 12] [--out rayvid-bench-semantic]
      [--image-to-video] [--write-md docs/sampler-quality.md [--append]]

--image-to-video starts each clip from a held-out source frame (the clip's first frame, rendered
as the semantic image-to-video test does), which is where the model follows the prompt; without
it, from the prompt alone.
"""
import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "semantic"))
import semantic  # noqa: E402

SAMPLERS = "unipc,euler,dpm++"
STEPS = "4,8,16,32"


def bench(spec, seed, out, args):
    out.mkdir(parents=True, exist_ok=True)
    cmd = [semantic.CLI, "bench", "--model", str(args.model), "--samplers", args.samplers, "--steps", args.steps,
           "--prompt", semantic.world.caption(spec), "--expect-motion", f"{spec.colour}:{spec.direction}",
           "--width", str(semantic.world.WIDTH), "--height", str(semantic.world.HEIGHT),
           "--frames", str(semantic.world.FRAMES), "--seed", str(seed), "--out", str(out), "--no-plots", "-q"]
    if args.image_to_video:
        from PIL import Image

        source = out / "source.png"
        Image.fromarray(semantic.source_frame(spec, 100 + seed, args.model)).save(source)
        cmd += ["--image", str(source)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise RuntimeError(f"rayvid bench failed: {r.stderr}")
    return json.loads((out / "bench.json").read_text())


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=semantic.WORLD_MODEL)
    ap.add_argument("--cases", type=int, default=12, help="held-out prompts (of the world's held-out set)")
    ap.add_argument("--samplers", default=SAMPLERS)
    ap.add_argument("--steps", default=STEPS)
    ap.add_argument("--out", type=Path, default=Path("rayvid-bench-semantic"))
    ap.add_argument("--image-to-video", action="store_true", help="start from a held-out source frame")
    ap.add_argument("--write-md", type=Path)
    ap.add_argument("--append", action="store_true", help="add to --write-md instead of replacing it")
    args = ap.parse_args()

    cases = semantic.held_out_cases()[: args.cases]
    runs = {}  # label -> list of run dicts
    started = time.time()
    for i, spec in enumerate(cases):
        result = bench(spec, i, args.out / f"case{i:02d}", args)
        for run in result["runs"]:
            runs.setdefault(run["label"], []).append(run)
        print(f"[{i + 1}/{len(cases)}] {semantic.world.caption(spec)}: " +
              ", ".join(f"{r['label']} {r['motion']['direction']}" for r in result["runs"]), flush=True)

    rows = []
    for label, rs in runs.items():
        angles = [r["motion"]["angle_error_deg"] for r in rs if r["motion"]["angle_error_deg"] is not None]
        psnrs = [r["psnr_db"] for r in rs if r["psnr_db"] is not None]
        rows.append({
            "label": label, "sampler": rs[0]["sampler"], "steps": rs[0]["steps"],
            "accuracy": sum(r["motion"]["matches"] for r in rs) / len(rs),
            "found": sum(r["motion"]["found_frames"] == r["motion"]["frames"] for r in rs) / len(rs),
            "angle_median": statistics.median(angles) if angles else None,
            "seconds": statistics.mean(r["total_seconds"] for r in rs),
            "psnr": statistics.mean(psnrs) if psnrs else None,
        })
    rows.sort(key=lambda r: (r["sampler"], r["steps"]))
    reference = next(r["label"] for rs in runs.values() for r in rs if r["reference"])
    table = ["| sampler | steps | semantic accuracy | object in every frame | median angle to prompted motion | "
             f"seconds per clip | PSNR vs {reference} |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        table.append(f"| {r['sampler']} | {r['steps']} | {r['accuracy'] * 100:.0f}% | {r['found'] * 100:.0f}% | "
                     + (f"{r['angle_median']:.1f} deg" if r["angle_median"] is not None else "-") +
                     f" | {r['seconds']:.2f} | " + (f"{r['psnr']:.1f} dB" if r["psnr"] is not None else "(reference)")
                     + " |")
    text = "\n".join(table)
    print(text)
    print(f"{len(cases)} held-out prompts, {time.time() - started:.0f} s")
    if args.write_md:
        mode = "image-to-video (from a held-out source frame)" if args.image_to_video else "text-to-video"
        section = (
            f"## {mode[0].upper() + mode[1:]}\n\n"
            f"`benchmarks/semantic/samplers.py --cases {args.cases}"
            + (" --image-to-video" if args.image_to_video else "") + f"` on {cpu_name()} "
            f"({time.strftime('%Y-%m-%d')}), model `{args.model.name}`, {len(cases)} held-out prompts "
            f"(colour x shape x direction never seen together in training; grey background, static camera), "
            f"{semantic.world.WIDTH}x{semantic.world.HEIGHT}x{semantic.world.FRAMES}, guidance: the model's default, "
            f"one seed per prompt. Semantic accuracy: `rayvid analyze --track` finds the prompted colour "
            f"moving the prompted way. Reference run: {reference}.\n\n" + text + "\n")
        header = "# Samplers on the tiny trained model, scored by the prompt\n\n"
        if args.append and args.write_md.exists():
            args.write_md.write_text(args.write_md.read_text() + "\n" + section)
        else:
            args.write_md.write_text(header + section)

if __name__ == "__main__":
    main()
