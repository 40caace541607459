"""Wan2.1 VACE parity fixtures: the VACE transformer alone (tests/models/wan_dit/wan_dit_vace_test.cpp)
and WanVACEPipeline end to end (tests/pipeline/pipeline_golden_test.cpp) on a tiny VACE folder.

The transformer is WanVACETransformer3DModel on the tiny T2V shapes with 4 layers and VACE hints
after blocks 0 and 2 (vace_in_channels 96 = inactive 16 + reactive 16 + the 8x8 mask 64), random
weights drawn per tensor as the other extra goldens. The folder is the tiny Wan2.1 T2V pipeline's
text encoder, tokenizer and VAE with that transformer and UniPC (flow_shift 3), in the diffusers
layout. Needs <out>/models/wan21_t2v (make_fixtures.py writes it first).

Pipeline runs (48x64, 9 frames, 3 steps, seed 42):
  refs        reference_images=[one 40x48 image] (resized to fit, padded white, prepended in time)
  first_last  video=[first, gray x 7, last], mask=[black, white x 7, black] (the docstring's FLF)
  keyframes   video=[first, gray x 3, key, gray x 3, last] with black mask at 0, 4 and 8
  control     video=9 frames of a moving pattern, no mask (video-to-video); the frames are read back
              from a lossless RGB MP4 (control_9f.mp4) that the C++ side decodes too
Writes <out>/golden_extra/vace/: manifest.json, component.safetensors, pipeline.safetensors, model/,
component/ (the transformer alone), and the input PNGs/MP4.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from extra_wan_dit import TINY, Golden, cli, randn, reinit_
from ref_common import GoldenSet
from ref_models import load_pipeline, save_pipeline
from ref_pipelines import NEGATIVE, PROMPT, _image_png, _run

EXTRA = "golden_extra/vace"
VACE_CFG = dict(TINY["wan21_t2v"]["transformer"], num_layers=4, vace_layers=[0, 2], vace_in_channels=96)
H, W, F = 48, 64, 9
GRAY = (128, 128, 128)  # the docstring's gray frame (128/255*2-1 = 0.0039 after preprocessing)


def make_vace(name: str):
    from diffusers import WanVACETransformer3DModel

    m = WanVACETransformer3DModel(**VACE_CFG).eval()
    reinit_(m, name)
    return m


def component_goldens(root: Path) -> None:
    """The transformer on random latents, text and control, full-length and shorter control, two
    conditioning scales: output and each VACE hint's effect through the final velocity."""
    from diffusers import WanVACETransformer3DModel

    make_vace("vace/component").save_pretrained(str(root / "component"), safe_serialization=True)
    model = WanVACETransformer3DModel.from_pretrained(str(root / "component")).eval()
    golden = Golden()
    file = "component.safetensors"
    T, h, w = 3, 6, 8
    x = randn("vace/x", 2, 16, T, h, w)
    ctx = randn("vace/ctx", 2, 512, VACE_CFG["text_dim"])
    ctx[0, 9:] = 0
    ctx[1, 1:] = 0
    control = randn("vace/control", 1, 96, T, h, w)
    golden.add(file, "hidden_states", x)
    golden.add(file, "encoder_hidden_states", ctx)
    golden.add(file, "control", control)
    cases = []
    for name, frames, scale, t in (("full", T, 1.0, [999, 999]), ("short_control", 2, 1.0, [613, 613]),
                                   ("scaled", T, 0.7, [37, 881])):
        c = control[:, :, :frames].expand(2, -1, -1, -1, -1)
        ts = torch.tensor(t)
        with torch.no_grad():
            out = model(hidden_states=x, timestep=ts, encoder_hidden_states=ctx, control_hidden_states=c,
                        control_hidden_states_scale=torch.full((len(VACE_CFG["vace_layers"]),), scale),
                        return_dict=False)[0]
        cases.append({"name": name, "kind": "vace_forward", "file": file, "model_dir": f"{EXTRA}/component",
                      "inputs": {"hidden_states": "hidden_states", "encoder_hidden_states": "encoder_hidden_states",
                                 "control": "control", "timestep": golden.add(file, f"{name}.timestep", ts)},
                      "outputs": {"output": golden.add(file, f"{name}.output", out)},
                      "params": {"control_frames": frames, "conditioning_scale": scale}})
    golden.write(root, "vace", "WanVACETransformer3DModel forwards (scripts/reference/extra_vace.py)",
                 "scripts/reference/extra_vace.py", {"config": VACE_CFG}, cases)
    # Golden.write names the manifest manifest.json; keep it apart from the pipeline manifest.
    (root / "manifest.json").rename(root / "component.json")


def gray_frame() -> Image.Image:
    return Image.new("RGB", (W, H), GRAY)


def mask_frame(keep: bool) -> Image.Image:
    return Image.new("L", (W, H), 0 if keep else 255)


def control_video(root: Path) -> tuple[list[Image.Image], str]:
    """A moving pattern written as lossless RGB H.264 and decoded back, so both sides see the
    same pixels."""
    yy, xx = np.mgrid[0:H, 0:W]
    frames = []
    for i in range(F):
        r = (128 + 100 * np.sin((xx + 4 * i) / 7.0)).astype(np.uint8)
        g = (128 + 100 * np.cos((yy - 3 * i) / 5.0)).astype(np.uint8)
        b = ((xx * 3 + yy * 2 + 20 * i) % 256).astype(np.uint8)
        frames.append(np.stack([r, g, b], -1))
    name = f"control_{F}f.mp4"
    raw = np.stack(frames).tobytes()
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", f"{W}x{H}", "-r", "16", "-i", "-", "-c:v", "libx264rgb", "-qp", "0",
                    "-preset", "veryslow", str(root / name)], input=raw, check=True)
    out = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(root / name), "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    decoded = np.frombuffer(out, np.uint8).reshape(F, H, W, 3)
    assert np.array_equal(decoded, np.stack(frames)), "libx264rgb -qp 0 should be lossless"
    return [Image.fromarray(f) for f in decoded], name


def pipeline_goldens(root: Path, t2v_folder: Path) -> None:
    from diffusers import UniPCMultistepScheduler, WanVACEPipeline

    t2v = load_pipeline("wan21_t2v", t2v_folder)
    sched = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                    num_train_timesteps=1000, flow_shift=3.0)
    pipe = WanVACEPipeline(tokenizer=t2v.tokenizer, text_encoder=t2v.text_encoder, vae=t2v.vae, scheduler=sched,
                           transformer=make_vace("vace/pipeline_transformer"))
    save_pipeline(pipe, root / "model", t2v_folder / "tokenizer" / "spiece.model")
    pipe = WanVACEPipeline.from_pretrained(str(root / "model"))
    pipe.set_progress_bar_config(disable=True)

    gs = GoldenSet(root, "vace", "WanVACEPipeline runs (scripts/reference/extra_vace.py)")
    ref, ref_png = _image_png(gs, "vace_ref", 40, 48)
    first, first_png = _image_png(gs, "vace_first", W, H)
    key, key_png = _image_png(gs, "vace_key", W, H)
    last, last_png = _image_png(gs, "vace_last", W, H)
    control, control_mp4 = control_video(root)

    def frames_with(keys: dict[int, Image.Image]):
        video = [keys.get(i, gray_frame()) for i in range(F)]
        mask = [mask_frame(i in keys) for i in range(F)]
        return video, mask

    runs = {
        "refs": (dict(reference_images=[ref]), {"reference_pngs": [ref_png]}),
        "first_last": (dict(zip(("video", "mask"), frames_with({0: first, F - 1: last}))),
                       {"keyframes": {"0": first_png, str(F - 1): last_png}}),
        "keyframes": (dict(zip(("video", "mask"), frames_with({0: first, 4: key, F - 1: last}))),
                      {"keyframes": {"0": first_png, "4": key_png, str(F - 1): last_png}}),
        "control": (dict(video=control), {"control_video": control_mp4}),
    }
    base = dict(prompt=PROMPT, height=H, width=W, num_frames=F, num_inference_steps=3)
    for name, (inputs, params) in runs.items():
        tags = (("cfg", dict(guidance_scale=5.0, negative_prompt=NEGATIVE)),)
        if name == "first_last":
            tags += (("nocfg", dict(guidance_scale=1.0)),)
        for tag, g in tags:
            _run(pipe, gs, "pipeline.safetensors", f"vace.{name}.{tag}", dict(base, **inputs, **g),
                 dict(params, model="model", gray_frame=list(GRAY)))
    gs.write()


def make(out_dir: Path) -> None:
    """Writes <out_dir>/golden_extra/vace/ (deterministic; replaces what was there)."""
    torch.set_num_threads(1)
    root = out_dir / EXTRA
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    component_goldens(root)
    pipeline_goldens(root, out_dir / "models" / "wan21_t2v")


if __name__ == "__main__":
    cli(make, __doc__)
