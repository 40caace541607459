"""The synthetic world's promises (scripts/train/synthetic_world.py): the same seed renders the same
clip, the object moves the way its caption says (the centroid of its colour) from a start that does
not give the direction away, the camera moves the view, captions read right, and held-out
combinations never reach the training set."""
import sys
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic_world as w  # noqa: E402


def centroid(frame: np.ndarray, colour) -> np.ndarray:
    mask = np.all(np.abs(frame.astype(int) - np.array(colour)) < 30, axis=-1)
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


class SyntheticWorld(unittest.TestCase):
    def test_same_seed_same_clip(self):
        spec = w.ClipSpec("circle", "red", "left", "quickly", "textured", "pan left")
        self.assertTrue(np.array_equal(w.render(spec, 5), w.render(spec, 5)))
        self.assertFalse(np.array_equal(w.render(spec, 5), w.render(spec, 6)))

    def test_the_object_moves_as_captioned(self):
        for direction, (dx, dy) in w.DIRECTIONS.items():
            for speed in w.SPEEDS:
                spec = w.ClipSpec("square", "blue", direction, speed, "grey", "static")
                frames = w.render(spec, 1)
                moved = centroid(frames[-1], w.COLOURS["blue"]) - centroid(frames[0], w.COLOURS["blue"])
                expected = np.array([dx, dy]) * w.SPEEDS[speed] * (w.FRAMES - 1)
                self.assertLess(np.abs(moved - expected).max(), 3.0, (direction, speed, moved))

    def test_the_start_does_not_give_the_direction_away(self):
        # Starts spread over the view (slow objects start on both sides of the centre along their
        # motion; quick ones, whose path is a third of the view, over 20 px of it) and the whole
        # path stays in the view: the start alone does not say where an object goes.
        for direction, (dx, dy) in w.DIRECTIONS.items():
            along = 0 if dx else 1
            for speed in w.SPEEDS:
                starts, ends = [], []
                for seed in range(32):
                    frames = w.render(w.ClipSpec("circle", "red", direction, speed, "grey", "static"), seed)
                    starts.append(centroid(frames[0], w.COLOURS["red"]))
                    ends.append(centroid(frames[-1], w.COLOURS["red"]))
                starts, ends = np.array(starts), np.array(ends)
                spread = starts.max(0) - starts.min(0)
                self.assertGreater(spread[along], 20, (direction, speed))
                self.assertGreater(spread[1 - along], 40, (direction, speed))
                if speed == "slowly":
                    self.assertLess(starts[:, along].min(), w.WIDTH / 2 - 5, direction)
                    self.assertGreater(starts[:, along].max(), w.WIDTH / 2 + 5, direction)
                both = np.concatenate([starts, ends])
                self.assertTrue(((both > 8) & (both < w.WIDTH - 8)).all(), (direction, speed))
                # The first model's world ("leaving"): every start on the side the motion leaves from.
                first = centroid(w.render(w.ClipSpec("circle", "red", direction, speed, "grey", "static"), 3,
                                          start="leaving")[0], w.COLOURS["red"])
                self.assertLess((first[along] - w.WIDTH / 2) * (dx or dy), -5, (direction, speed))

    def test_a_mixed_world_starts_half_its_clips_leaving_half_anywhere(self):
        # "mixed": each clip renders exactly as one of the two worlds would from its seed.
        spec = w.ClipSpec("triangle", "green", "right", "quickly", "grey", "static")
        kinds = []
        for seed in range(64):
            clip = w.render(spec, seed, start="mixed")
            first = centroid(clip[0], w.COLOURS["green"])
            # A leaving start is within 4 px (plus drawing) of half its path left of the centre.
            leaving_at = np.array([w.WIDTH / 2 - w.SPEEDS["quickly"] * w.FRAMES / 2, w.HEIGHT / 2])
            kinds.append("leaving" if np.abs(first - leaving_at).max() < 6 else "anywhere")
            self.assertTrue(np.array_equal(clip, w.render(spec, seed, start="mixed")))
        self.assertGreater(kinds.count("leaving"), 20)
        self.assertGreater(kinds.count("anywhere"), 20)

    def test_the_camera_moves_the_view(self):
        still = w.ClipSpec("circle", "green", "up", "slowly", "grey", "static")
        panned = w.ClipSpec("circle", "green", "up", "slowly", "grey", "pan right")
        a = centroid(w.render(still, 2)[-1], w.COLOURS["green"])
        b = centroid(w.render(panned, 2)[-1], w.COLOURS["green"])
        self.assertLess(b[0], a[0] - 10)  # the view moves right, so the object moves left in it
        zoom = w.ClipSpec("circle", "green", "up", "slowly", "grey", "zoom in")
        area = lambda f: np.all(np.abs(f.astype(int) - np.array(w.COLOURS["green"])) < 30, -1).sum()
        clip = w.render(zoom, 2)
        self.assertGreater(area(clip[-1]), 1.5 * area(clip[0]))

    def test_captions(self):
        spec = w.ClipSpec("triangle", "orange", "down", "quickly", "white", "zoom out")
        self.assertEqual(w.caption(spec), "an orange triangle moves quickly downwards on a white background, "
                                          "the camera zooms out")
        self.assertEqual(w.caption(w.ClipSpec("circle", "red", "left", "slowly", "grey", "static")),
                         "a red circle moves slowly to the left on a grey background")

    def test_held_out_combinations_stay_out_of_training(self):
        key = lambda s: (s.shape, s.colour, s.direction)
        train = {key(s) for s in w.all_specs(True)}
        test = {key(s) for s in w.all_specs(False)}
        self.assertFalse(train & test)
        self.assertEqual(len(train | test), len(w.SHAPES) * len(w.COLOURS) * len(w.DIRECTIONS))
        self.assertGreater(len(test), 10)
        # Every colour, shape and direction is still seen in training, only not together.
        for i, values in enumerate((w.SHAPES, w.COLOURS, w.DIRECTIONS)):
            self.assertEqual({k[i] for k in train}, set(values))


if __name__ == "__main__":
    unittest.main(verbosity=2)
