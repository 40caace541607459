"""A synthetic video world for training a tiny Wan-architecture model (issue: a tiny model that
really moves). Deterministic from a seed: coloured shapes moving in named directions and speeds
(bouncing off the edges), over plain or textured backgrounds, under simple camera pans and zooms;
every clip's caption is generated from its parameters.

    from synthetic_world import ClipSpec, render, caption, sample_specs
    spec = ClipSpec(shape="circle", colour="red", direction="left", speed="quickly",
                    background="grey", camera="zoom in")
    frames = render(spec, seed=3)          # uint8 [frames, height, width, 3]
    caption(spec)  # "a red circle moves quickly to the left on a grey background, the camera zooms in"

Held-out combinations (colour x shape x direction never seen in training) are chosen by
`held_out(...)` from a fixed rule, so the semantic tests can ask for them.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np

SHAPES = ("circle", "square", "triangle")
COLOURS = {  # RGB, far apart in hue so OpenCV colour masks separate them
    "red": (220, 40, 40), "green": (40, 190, 60), "blue": (50, 80, 230),
    "yellow": (235, 215, 40), "purple": (150, 60, 200), "orange": (245, 140, 30),
}
DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
SPEEDS = {"slowly": 1.0, "quickly": 2.2}  # pixels per frame at 96 px wide
BACKGROUNDS = {"grey": (128, 128, 128), "black": (20, 20, 20), "white": (235, 235, 235),
               "textured": None}
CAMERAS = ("static", "pan left", "pan right", "zoom in", "zoom out")

WIDTH, HEIGHT, FRAMES, FPS = 96, 96, 17, 16
# Where an object starts. "leaving": near the centre, on the side its motion leaves from (the first
# trained model's world): the first frame gives the direction away, and that model learned to move
# an object away from where it starts instead of reading the direction in the caption (one source,
# or one seed, prompted with four directions moved one way). "anywhere": anywhere its whole path
# stays in the unmoved view, so only the caption says where it goes. "mixed": each clip one of the
# two, evenly: from "anywhere" alone a 4-layer DiT learned image-to-video steering but not
# text-to-video, whose clean estimate at high noise (the conditional mean clip) is then a faint band
# smeared over every start, nearly the same for every direction; "leaving" clips make that mean a
# sharp object moving the prompted way, and "anywhere" clips keep the first frame from giving the
# direction away.
STARTS = ("anywhere", "leaving", "mixed")


@dataclasses.dataclass(frozen=True)
class ClipSpec:
    shape: str
    colour: str
    direction: str
    speed: str
    background: str
    camera: str


def caption(spec: ClipSpec) -> str:
    where = {"left": "to the left", "right": "to the right", "up": "upwards", "down": "downwards"}
    article = "an" if spec.colour[0] in "aeiou" else "a"
    text = (f"{article} {spec.colour} {spec.shape} moves {spec.speed} {where[spec.direction]} "
            f"on a {spec.background} background")
    camera = {"static": "", "pan left": ", the camera pans left", "pan right": ", the camera pans right",
              "zoom in": ", the camera zooms in", "zoom out": ", the camera zooms out"}[spec.camera]
    return text + camera


def held_out(shape: str, colour: str, direction: str) -> bool:
    """One combination in five of colour x shape x direction, fixed by their indices."""
    i = SHAPES.index(shape) * 24 + list(COLOURS).index(colour) * 4 + list(DIRECTIONS).index(direction)
    return (i * 7) % 5 == 0


def all_specs(train: bool):
    for shape, colour, direction in itertools.product(SHAPES, COLOURS, DIRECTIONS):
        if held_out(shape, colour, direction) == train:
            continue
        for speed, background, camera in itertools.product(SPEEDS, BACKGROUNDS, CAMERAS):
            yield ClipSpec(shape, colour, direction, speed, background, camera)


def sample_specs(n: int, seed: int, train: bool = True) -> list[ClipSpec]:
    specs = list(all_specs(train))
    rng = np.random.default_rng(seed)
    return [specs[i] for i in rng.integers(0, len(specs), n)]


def _background(spec: ClipSpec, rng, size: int) -> np.ndarray:
    if BACKGROUNDS[spec.background] is not None:
        return np.full((size, size, 3), BACKGROUNDS[spec.background], np.float32)
    # A smooth low-contrast texture: sums of random sinusoids around mid grey.
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    img = np.full((size, size, 3), 110.0, np.float32)
    for _ in range(4):
        fx, fy = rng.uniform(0.02, 0.12, 2)
        phase = rng.uniform(0, 2 * math.pi)
        amp = rng.uniform(8, 20, 3)
        img += np.sin(fx * xx + fy * yy + phase)[..., None] * amp
    return img


def _draw(canvas: np.ndarray, shape: str, colour, cx: float, cy: float, r: float) -> None:
    size = canvas.shape[0]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if shape == "circle":
        inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    elif shape == "square":
        inside = (np.abs(xx - cx) <= r * 0.85) & (np.abs(yy - cy) <= r * 0.85)
    else:  # an upward triangle
        top, bottom = cy - r, cy + r * 0.8
        half = (yy - top) / (bottom - top) * r
        inside = (yy >= top) & (yy <= bottom) & (np.abs(xx - cx) <= half)
    canvas[inside] = colour


def render(spec: ClipSpec, seed: int, width: int = WIDTH, height: int = HEIGHT,
           frames: int = FRAMES, start: str = "anywhere") -> np.ndarray:
    """uint8 [frames, height, width, 3]. The world is a larger square canvas; the camera is a
    window on it that pans or zooms; the object bounces off the world's edges. `start` is one of
    STARTS: where the object starts (a model is tested in the world it was trained in)."""
    rng = np.random.default_rng(seed)
    world = int(max(width, height) * 1.5)
    background = _background(spec, rng, world)
    radius = rng.uniform(0.09, 0.14) * width
    dx, dy = DIRECTIONS[spec.direction]
    speed = SPEEDS[spec.speed] * width / 96
    travel = speed * (frames - 1)
    if start == "mixed":
        start = STARTS[int(rng.integers(2))]
    if start == "leaving":
        cx = world / 2 - dx * speed * frames / 2 + rng.uniform(-4, 4)
        cy = world / 2 - dy * speed * frames / 2 + rng.uniform(-4, 4)
    elif start == "anywhere":
        cx, cy = (world / 2 + u * max(0.0, size / 2 - radius - 2 - abs(d) * travel / 2) - d * travel / 2
                  for u, size, d in zip(rng.uniform(-1, 1, 2), (width, height), (dx, dy)))
    else:
        raise ValueError(f"start {start!r} is not one of {STARTS}")
    out = np.empty((frames, height, width, 3), np.uint8)
    for f in range(frames):
        canvas = background.copy()
        _draw(canvas, spec.shape, COLOURS[spec.colour], cx, cy, radius)
        t = f / max(1, frames - 1)
        zoom = {"zoom in": 1.0 - 0.3 * t, "zoom out": 0.7 + 0.3 * t}.get(spec.camera, 1.0)
        pan = {"pan left": -0.2 * t, "pan right": 0.2 * t}.get(spec.camera, 0.0) * width
        vw, vh = width * zoom, height * zoom
        x0 = world / 2 - vw / 2 + pan
        y0 = world / 2 - vh / 2
        xs = np.clip((x0 + (np.arange(width) + 0.5) * vw / width).astype(int), 0, world - 1)
        ys = np.clip((y0 + (np.arange(height) + 0.5) * vh / height).astype(int), 0, world - 1)
        out[f] = np.clip(canvas[ys][:, xs], 0, 255).astype(np.uint8)
        cx += dx * speed
        cy += dy * speed
        if not radius <= cx <= world - radius:
            dx = -dx
        if not radius <= cy <= world - radius:
            dy = -dy
    return out
