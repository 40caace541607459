"""Shared by the semantic tests (label `semantic`) and benchmarks/semantic: the held-out prompts of
the synthetic world and how a video is scored against its prompt.

The trained tiny model (models/rayvid-world, scripts/train/) never saw these colour x shape x
direction combinations together. A video passes when `rayvid analyze --track COLOUR` finds an
object of the prompted colour and it moves in the prompted direction.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts" / "train"))
import synthetic_world as world  # noqa: E402

CLI = os.environ.get("RAYVID_CLI") or str(REPO / "build" / "src" / "rayvid")
WORLD_MODEL = Path(os.environ.get("RAYVID_WORLD_MODEL") or REPO / "models" / "rayvid-world")
RANDOM_MODEL = REPO / "models" / "rayvid-tiny-ti2v"  # random weights: the control


def scratch(name):
    root = Path(os.environ.get("RAYVID_SCRATCH") or tempfile.mkdtemp(prefix="rayvid-semantic-"))
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def world_start(model=None):
    """Where objects start in the world `model` was trained in (its provenance.json; models made
    before the world had a choice were trained with "leaving")."""
    provenance = json.loads((Path(model or WORLD_MODEL) / "provenance.json").read_text())
    return provenance.get("world", {}).get("start", "leaving")


def source_frame(spec, seed, model=None):
    """An image-to-video source: frame 0 of `spec`'s clip, rendered in the model's world."""
    return world.render(spec, seed=seed, start=world_start(model))[0]


def held_out_cases(speed="quickly", background="grey", camera="static"):
    """Every held-out colour x shape x direction, in a fixed order, as ClipSpecs."""
    return [world.ClipSpec(shape, colour, direction, speed, background, camera)
            for shape in world.SHAPES for colour in world.COLOURS for direction in world.DIRECTIONS
            if world.held_out(shape, colour, direction)]


def four_directions(model, spec, folder, *, index, steps, guidance=None, image_to_video=False):
    """One starting point prompted with each of the four directions: the seed `index` (the same
    starting noise), and for image-to-video also spec's source frame (rendered with seed 300 +
    index in the model's world). Returns [(asked, moved)]; the clips are kept in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    image = None
    if image_to_video:
        image = folder / "source.png"
        Image.fromarray(source_frame(spec, 300 + index, model)).save(image)
    moves = []
    for direction in world.DIRECTIONS:
        asked = world.ClipSpec(spec.shape, spec.colour, direction, spec.speed, spec.background, spec.camera)
        video = folder / f"{direction}.mp4"
        generate(model, asked, video, steps=steps, seed=index, guidance=guidance, image=image)
        moves.append((direction, analyze(video, spec.colour)["objects"][0]["direction"]))
    return moves


def generate(model, spec, out, *, steps, sampler="unipc", seed=0, guidance=None, image=None):
    """rayvid generate at the world's native size; returns seconds."""
    args = [CLI, "generate", "--model", str(model), "--prompt", world.caption(spec), "--width",
            str(world.WIDTH), "--height", str(world.HEIGHT), "--frames", str(world.FRAMES), "--fps",
            str(world.FPS), "--steps", str(steps), "--sampler", sampler, "--seed", str(seed), "-q",
            "--output", str(out)]
    if guidance is not None:
        args += ["--guidance-scale", str(guidance)]
    if image is not None:
        args += ["--image", str(image)]
    start = time.time()
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"rayvid generate failed ({r.returncode}): {r.stderr}")
    return time.time() - start


def analyze(video, colour, source=None):
    """`rayvid analyze --track COLOUR [--source IMAGE]`: the analysis JSON."""
    out = Path(str(video) + "-analysis")
    args = [CLI, "analyze", str(video), "--track", colour, "--no-plots", "--out", str(out)]
    if source is not None:
        args += ["--source", str(source)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"rayvid analyze failed ({r.returncode}): {r.stderr}")
    return json.loads((out / "analysis.json").read_text())


def score(model, cases, folder, *, steps, sampler="unipc", guidance=None, seed=0):
    """Generates every case and tracks its colour: one row per case."""
    rows = []
    for i, spec in enumerate(cases):
        video = folder / f"{i:02d}-{spec.colour}-{spec.shape}-{spec.direction}.mp4"
        seconds = generate(model, spec, video, steps=steps, sampler=sampler, seed=seed + i, guidance=guidance)
        track = analyze(video, spec.colour)["objects"][0]
        rows.append({"prompt": world.caption(spec), "colour": spec.colour, "direction": spec.direction,
                     "found": track["found_frames"], "moved": track["direction"],
                     "ok": track["direction"] == spec.direction, "dx": track["dx"], "dy": track["dy"],
                     "seconds": seconds, "video": str(video)})
    return rows


def accuracy(rows):
    return sum(r["ok"] for r in rows) / len(rows)


def report(rows):
    return "\n".join(f"  {'ok ' if r['ok'] else 'BAD'} {r['prompt']}: found in {r['found']} frames, "
                     f"moves {r['moved']} (dx {r['dx']:+.1f}, dy {r['dy']:+.1f})" for r in rows)
