"""The README's contact sheet of the tiny trained model: rayvid generates a few held-out prompts
(text-to-video) and the example source (image-to-video); each row is one clip, frames 0, 4, 8, 12
and 16 (ffmpeg's tile filter), under its prompt.

  .venv/bin/python scripts/train/contact_sheet.py [--out docs/images/rayvid-world-contact-sheet.png]
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "semantic"))
import semantic  # noqa: E402

W = semantic.world
PROMPTS = [W.ClipSpec("triangle", "purple", "right", "quickly", "grey", "static"),
           W.ClipSpec("circle", "red", "left", "quickly", "grey", "static"),
           W.ClipSpec("square", "green", "up", "quickly", "grey", "static")]


def row(video: Path, out: Path, scale: int) -> Image.Image:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(video), "-vf",
                    f"select=not(mod(n\\,4)),scale={W.WIDTH * scale}:{W.HEIGHT * scale}:flags=neighbor,tile=5x1",
                    "-frames:v", "1", str(out)], check=True)
    return Image.open(out).convert("RGB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "rayvid-world-contact-sheet.png")
    ap.add_argument("--steps", type=int, default=16)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rayvid-sheet-"))
    rows = []
    for i, spec in enumerate(PROMPTS):
        video = tmp / f"t2v{i}.mp4"
        semantic.generate(semantic.WORLD_MODEL, spec, video, steps=args.steps, seed=i + 1)
        rows.append((f"text-to-video: {W.caption(spec)}", row(video, tmp / f"t2v{i}.png", 2)))
    examples = semantic.WORLD_MODEL / "examples"
    prompt = (examples / "source.txt").read_text().strip()
    spec = next(s for s in semantic.held_out_cases() if W.caption(s) == prompt)
    video = tmp / "i2v.mp4"
    semantic.generate(semantic.WORLD_MODEL, spec, video, steps=args.steps, seed=1, image=examples / "source.png")
    rows.append((f"image-to-video (source: frame 0 of a held-out clip): {prompt}", row(video, tmp / "i2v.png", 2)))

    label_h, pad = 18, 6
    width = max(r.width for _, r in rows) + 2 * pad
    height = sum(r.height + label_h + pad for _, r in rows) + pad
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    y = pad
    for label, image in rows:
        draw.text((pad, y + 3), label, fill=(0, 0, 0))
        sheet.paste(image, (pad, y + label_h))
        y += image.height + label_h + pad
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
