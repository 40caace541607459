"""Does the prompt steer the motion? The same starting point prompted with each of the four
directions, on a model trained on the synthetic world (models/rayvid-world by default):

- text-to-video: one seed (the same starting noise), four prompts that differ only in the direction;
- image-to-video: one held-out source frame, the same four prompts.

A model that reads the direction moves the object four different ways; one that follows the noise
(text-to-video) or where the object starts (image-to-video) moves it one way whatever it is told.
The semantic accuracy of tests/semantic and docs/sampler-quality.md cannot tell these apart when
the world's start position gives the direction away; this can.

  .venv/bin/python benchmarks/semantic/steering.py [--model DIR] [--starts 3] [--steps 16]
      [--guidance G] [--speed quickly|slowly] [--out rayvid-steering] [--json FILE]
"""
import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "semantic"))
import semantic  # noqa: E402

world = semantic.world


def probe(args, mode, index, spec):
    """One starting point (seed or source), four directions: [(asked, moved)]."""
    return semantic.four_directions(args.model, spec, args.out / f"{mode}-{index:02d}", index=index,
                                    steps=args.steps, guidance=args.guidance,
                                    image_to_video=mode == "image-to-video")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=semantic.WORLD_MODEL)
    ap.add_argument("--starts", type=int, default=3, help="seeds / source frames per mode")
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--guidance", type=float)
    ap.add_argument("--speed", choices=tuple(world.SPEEDS), default="quickly",
                    help="of the held-out cases: a slow object's path fits in view from anywhere, while "
                         "a fast one in the 'anywhere' world starts on the side it leaves from, so from a "
                         "source frame some asked directions would leave the view")
    ap.add_argument("--out", type=Path, default=Path("rayvid-steering"))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    cases = semantic.held_out_cases(speed=args.speed)
    report = {"model": str(args.model), "steps": args.steps, "guidance": args.guidance, "speed": args.speed,
              "modes": {}}
    for mode in ("text-to-video", "image-to-video"):
        rows = [probe(args, mode, i, cases[(5 * i) % len(cases)]) for i in range(args.starts)]
        followed = sum(asked == moved for moves in rows for asked, moved in moves)
        distinct = [len({moved for _, moved in moves}) for moves in rows]
        report["modes"][mode] = {"moves": rows, "followed": followed, "clips": 4 * len(rows),
                                 "distinct_directions_per_start": distinct}
        print(f"{mode}: {followed} of {4 * len(rows)} clips move as prompted; distinct directions per start "
              f"(of 4 asked): {distinct}")
        for moves in rows:
            print("  " + ", ".join(f"{asked} -> {moved}" for asked, moved in moves))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
