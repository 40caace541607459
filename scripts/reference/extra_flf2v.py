"""First-and-last-frame parity fixtures (tests/pipeline/flf2v_pipeline_test.cpp): a tiny Wan2.1
FLF2V folder in the diffusers layout, and WanImageToVideoPipeline(image=..., last_image=...) runs on
it, with and without guidance, recorded as the harness's pipeline goldens (ref_pipelines._run).

The folder is the tiny Wan2.1 I2V pipeline (same text encoder, CLIP, VAE, scheduler) with a
transformer whose image embedder has positions for two images (pos_embed_seq_len = 2 x CLIP
tokens), as Wan2.1-FLF2V-14B's. Needs <out>/models/wan21_i2v (make_fixtures.py writes it first).
Writes <out>/golden_extra/flf2v/:
  model/                 the FLF2V folder (model_index.json, transformer/, image_encoder/, ...)
  manifest.json + pipeline.safetensors + flf2v_first_64x48.png, flf2v_last_64x48.png
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from extra_wan_dit import cli
from ref_common import GoldenSet
from ref_models import CLIP_CFG, DIT_I2V, load_pipeline, make_dit, save_pipeline
from ref_pipelines import NEGATIVE, PROMPT, _image_png, _run

EXTRA = "golden_extra/flf2v"
CLIP_TOKENS = (CLIP_CFG["image_size"] // CLIP_CFG["patch_size"]) ** 2 + 1


def make(out_dir: Path) -> None:
    """Writes <out_dir>/golden_extra/flf2v/ (deterministic; replaces what was there)."""
    torch.set_num_threads(1)
    from diffusers import WanImageToVideoPipeline

    root = out_dir / EXTRA
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    i2v_folder = out_dir / "models" / "wan21_i2v"
    i2v = load_pipeline("wan21_i2v", i2v_folder)
    flf2v = WanImageToVideoPipeline(
        tokenizer=i2v.tokenizer, text_encoder=i2v.text_encoder, vae=i2v.vae, scheduler=i2v.scheduler,
        image_processor=i2v.image_processor, image_encoder=i2v.image_encoder,
        transformer=make_dit(dict(DIT_I2V, pos_embed_seq_len=2 * CLIP_TOKENS), "wan21_flf2v/transformer"))
    save_pipeline(flf2v, root / "model", i2v_folder / "tokenizer" / "spiece.model")
    pipe = load_pipeline("wan21_i2v", root / "model")  # as users load it

    gs = GoldenSet(root, "flf2v", "Wan2.1 FLF2V (first + last frame) pipeline runs (scripts/reference/extra_flf2v.py)")
    first, first_png = _image_png(gs, "flf2v_first", 64, 48)
    last, last_png = _image_png(gs, "flf2v_last", 64, 48)
    for tag, g in (("cfg", dict(guidance_scale=5.0, negative_prompt=NEGATIVE)), ("nocfg", dict(guidance_scale=1.0))):
        _run(pipe, gs, "pipeline.safetensors", f"flf2v.{tag}",
             dict(image=first, last_image=last, prompt=PROMPT, height=48, width=64, num_frames=9,
                  num_inference_steps=3, **g),
             {"image_png": first_png, "last_image_png": last_png, "model": "model"})
    gs.write()


if __name__ == "__main__":
    cli(make, __doc__)
