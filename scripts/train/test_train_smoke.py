"""A few steps of each training stage on tiny models (CI does not train): a stage cut off resumes
where it stopped, the export is a diffusers folder rayvid loads and generates from."""
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CLI = os.environ.get("RAYVID_CLI") or str(REPO / "build" / "src" / "rayvid")


def train(work, *args):
    r = subprocess.run([sys.executable, str(HERE / "train.py"), "--work", str(work), "--smoke", "--threads", "1",
                        *args], capture_output=True, text=True, timeout=600, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


class TrainSmoke(unittest.TestCase):
    def test_stages_resume_and_export(self):
        work = Path(tempfile.mkdtemp(prefix="rayvid-train-"))
        train(work, "--stage", "vae", "--steps", "2", "--batch", "1")
        self.assertEqual(torch.load(work / "vae.pt", weights_only=False)["step"], 2)
        out = train(work, "--stage", "vae", "--steps", "3", "--batch", "1")  # a longer run resumes
        self.assertIn("resumed at step 2", out)
        saved = torch.load(work / "vae.pt", weights_only=False)
        self.assertEqual((saved["step"], [row[0] for row in saved["log"]]), (3, [0, 1, 2]))
        train(work, "--stage", "dit", "--steps", "2", "--batch", "2")
        train(work, "--export", str(work / "model"))
        provenance = json.loads((work / "model" / "provenance.json").read_text())
        self.assertEqual((provenance["stages"]["vae"]["steps"], provenance["stages"]["dit"]["steps"]), (3, 2))
        self.assertEqual(len(provenance["scripts_sha256"]["train.py"]), 64)
        self.assertGreater((work / "model" / "loss_curve.png").stat().st_size, 1000)
        r = subprocess.run([CLI, "generate", "--model", str(work / "model"), "--prompt",
                            "a red circle moves quickly to the left on a grey background", "--width", "96",
                            "--height", "96", "--frames", "17", "--steps", "2", "-q", "--output",
                            str(work / "out.mp4")], capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue((work / "out.mp4").stat().st_size > 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
