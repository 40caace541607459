"""A few steps of each training stage on tiny models (CI does not train): a stage cut off resumes
where it stopped, the export (with the trained text encoder) is a diffusers folder rayvid loads and
generates from."""
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
        r = subprocess.run([sys.executable, str(HERE / "train.py"), "--work", str(work), "--smoke", "--start",
                            "leaving", "--stage", "vae", "--steps", "4", "--batch", "1"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)  # a stage resumes only in the world it was trained in
        self.assertIn("was trained with --start anywhere", r.stderr)
        train(work, "--stage", "text", "--steps", "3", "--batch", "4")
        train(work, "--stage", "dit", "--steps", "2", "--batch", "2", "--latent-cache", "16")
        r = subprocess.run([sys.executable, str(HERE / "train.py"), "--work", str(work), "--smoke", "--stage", "dit",
                            "--steps", "3", "--batch", "2"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)  # nor under another recipe (here: without the latent cache)
        self.assertIn("'latent_cache': 16", r.stderr)
        self.assert_growing_keeps_the_function(work)
        # The tune stage in another world (its own latent cache), which the export then names.
        train(work, "--stage", "tune", "--steps", "2", "--batch", "2", "--layers", "2", "--start", "mixed",
              "--latent-cache", "16", "--i2v-fraction", "0.4")
        self.assertTrue((work / "latents-mixed-16.pt").exists())
        train(work, "--export", str(work / "model"))
        provenance = json.loads((work / "model" / "provenance.json").read_text())
        self.assertEqual((provenance["stages"]["vae"]["steps"], provenance["stages"]["dit"]["steps"],
                          provenance["stages"]["tune"]["steps"]), (3, 2, 2))
        self.assertEqual(provenance["stages"]["tune"]["config"]["num_layers"], 2)
        self.assertEqual(provenance["stages"]["text"]["steps"], 3)
        self.assertEqual((provenance["world"]["start"], provenance["stages"]["dit"]["start"]), ("mixed", "anywhere"))
        self.assert_the_trained_text_encoder_is_exported(work)
        self.assertEqual(provenance["stages"]["dit"]["recipe"],
                         {"padding": "silent", "object_weight": 0.0, "latent_cache": 16})
        self.assertEqual(provenance["stages"]["tune"]["recipe"],
                         {"padding": "silent", "object_weight": 0.0, "i2v_fraction": 0.4, "latent_cache": 16})
        self.assert_padding_is_silent(work / "model")
        exported = json.loads((work / "model" / "transformer" / "config.json").read_text())
        self.assertEqual(exported["num_layers"], 2)
        self.assertEqual(len(provenance["scripts_sha256"]["train.py"]), 64)
        self.assertGreater((work / "model" / "loss_curve.png").stat().st_size, 1000)
        r = subprocess.run([CLI, "generate", "--model", str(work / "model"), "--prompt",
                            "a red circle moves quickly to the left on a grey background", "--width", "96",
                            "--height", "96", "--frames", "17", "--steps", "2", "-q", "--output",
                            str(work / "out.mp4")], capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue((work / "out.mp4").stat().st_size > 0)

    def assert_the_trained_text_encoder_is_exported(self, work):
        from safetensors.torch import load_file

        trained = torch.load(work / "text.pt", weights_only=False)["model"]
        exported = load_file(work / "model" / "text_encoder" / "model.safetensors")
        demo = load_file(REPO / "models" / "rayvid-tiny-ti2v" / "text_encoder" / "model.safetensors")
        name = "encoder.block.0.layer.0.SelfAttention.q.weight"
        torch.testing.assert_close(exported[name], trained["encoder." + name], rtol=0, atol=0)
        self.assertFalse(torch.equal(exported[name], demo[name]))

    def assert_padding_is_silent(self, model):
        """--padding silent (the dit stage's default), kept by the tune stage's grown model: a zero
        text row (WanPipeline's padding) gets a zero key and value in every block's cross-attention."""
        from diffusers import WanTransformer3DModel

        dit = WanTransformer3DModel.from_pretrained(str(model / "transformer"))
        with torch.no_grad():
            padding = dit.condition_embedder.text_embedder(torch.zeros(1, 3, dit.config.text_dim))
            self.assertEqual(float(padding.abs().max()), 0.0)
            for block in dit.blocks:
                self.assertEqual(float(block.attn2.norm_k(block.attn2.to_k(padding)).abs().max()), 0.0)
                self.assertEqual(float(block.attn2.to_v(padding).abs().max()), 0.0)
            self.assertGreater(float(dit.blocks[0].attn2.to_q.bias.abs().max()), 0.0)  # others stay learned

    def assert_growing_keeps_the_function(self, work):
        """The tune stage's new blocks start as the identity: the grown DiT computes what the
        trained one does, to float rounding."""
        sys.path.insert(0, str(HERE))
        import train as recipe
        from diffusers import WanTransformer3DModel

        trained = torch.load(work / "dit.pt", weights_only=False)["model"]
        dit = WanTransformer3DModel(**recipe.dit_config(trained, True))
        dit.load_state_dict(trained)
        grown = recipe.grown_dit(work, True, recipe.dit_config(trained, True)["num_layers"] + 2)
        g = torch.Generator().manual_seed(0)
        z = torch.randn(1, 16, 2, 4, 4, generator=g)
        text = torch.randn(1, 8, recipe.SMOKE_DIT["text_dim"], generator=g)
        t = torch.tensor([500.0])
        with torch.no_grad():
            a = dit(hidden_states=z, timestep=t, encoder_hidden_states=text, return_dict=False)[0]
            b = grown(hidden_states=z, timestep=t, encoder_hidden_states=text, return_dict=False)[0]
        self.assertEqual(len(grown.blocks), len(dit.blocks) + 2)
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


if __name__ == "__main__":
    unittest.main(verbosity=2)
