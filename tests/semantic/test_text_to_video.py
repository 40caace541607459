"""Text-to-video follows the prompt (label `semantic`): on every held-out colour x shape x direction
of the synthetic world (never seen together in training), the tiny trained model's video has an
object of the prompted colour moving the prompted way in at least 80% of cases, and one seed
prompted with each of the four directions moves each way. The same check
on the random-weight demo model scores far below: the test measures the model, not the tracker.
"""
import os
import unittest

import semantic

STEPS = int(os.environ.get("RAYVID_SEMANTIC_STEPS", "16"))


class TextToVideo(unittest.TestCase):
    def test_held_out_prompts_move_as_asked(self):
        cases = semantic.held_out_cases()
        rows = semantic.score(semantic.WORLD_MODEL, cases, semantic.scratch("t2v"), steps=STEPS)
        acc = semantic.accuracy(rows)
        print(f"trained model: {acc * 100:.0f}% of {len(rows)} held-out prompts\n{semantic.report(rows)}")
        self.assertGreaterEqual(acc, 0.8, semantic.report(rows))

    def test_the_prompt_not_the_noise_sets_the_direction(self):
        # The same seed (the same starting noise) prompted with each of the four directions: the
        # object must go where the words say, not where the noise leans.
        rows = []
        for spec in semantic.held_out_cases()[::5]:
            for direction in semantic.world.DIRECTIONS:
                asked = semantic.world.ClipSpec(spec.shape, spec.colour, direction, spec.speed,
                                                spec.background, spec.camera)
                rows += semantic.score(semantic.WORLD_MODEL, [asked], semantic.scratch(f"t2v_steer_{direction}"),
                                       steps=STEPS, seed=7)
        print(f"one seed, four directions: {semantic.accuracy(rows) * 100:.0f}% of {len(rows)}\n"
              f"{semantic.report(rows)}")
        self.assertGreaterEqual(semantic.accuracy(rows), 0.8, semantic.report(rows))

    def test_a_random_model_fails_the_same_check(self):
        cases = semantic.held_out_cases()[::3]
        rows = semantic.score(semantic.RANDOM_MODEL, cases, semantic.scratch("t2v_random"), steps=4)
        acc = semantic.accuracy(rows)
        print(f"random model: {acc * 100:.0f}% of {len(rows)}\n{semantic.report(rows)}")
        self.assertLess(acc, 0.5, semantic.report(rows))


if __name__ == "__main__":
    unittest.main(verbosity=2)
