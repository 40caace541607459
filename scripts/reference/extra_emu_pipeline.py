"""Reference fixtures for tests/emu-model/emu_pipeline_test.cpp: every tiny pipeline family again,
with DiTs at the real head dims (128 and 64, which rayvid's flash-attention kernel covers; the
families' own DiTs use 32), run end to end by diffusers in bf16, so that rayvid's `emu` kernel
backend (its CUDA kernels' source on the CPU emulator) is checked on the whole generate path.
Deterministic, single-threaded, CPU; about a minute. Needs <out>/models/<family>/ (make_fixtures.py
writes them first). Writes <out>/golden_extra/emu_pipeline/:
  models/<family>/   model_index.json, scheduler/ and the transformer(s) (new, fp32,
      save_pretrained); the other components are symlinks to <out>/models/<family>/
  manifest.json + pipeline.safetensors
      one case per run: the pipeline's initial noise, the latents after every step and the decoded
      video ([-1, 1]) of a guided 3-step run (4 for the two experts), image-to-video from the
      family's golden input image where it has one; twice: in bf16 as users run it (what rayvid's
      --dtype bf16 does on the CPU: transformer(s), text encoder and CLIP image encoder loaded with
      dtype=bfloat16, the VAE in fp32) and, under `fp32.`, all in fp32 (the reference the test
      measures both bf16 runs against).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

from extra_wan_dit import cli, BF16, Golden, reinit_

EXTRA = "golden_extra/emu_pipeline"
PROMPT = "A red fox runs along a misty pine forest at sunrise. The camera pans slowly to the left."
NEGATIVE = "blurry, low quality, static, overexposed, watermark"
SEED = 42

# Per family: the DiT(s) as (heads, head_dim), dim = heads x head_dim = 128 throughout; the run.
HEADS_128 = dict(num_attention_heads=1, attention_head_dim=128)
HEADS_64 = dict(num_attention_heads=2, attention_head_dim=64)
FAMILIES = {
    "wan21_t2v": dict(transformers={"transformer": HEADS_64},
                      runs=[("t2v", dict(height=48, width=80, num_frames=9, num_inference_steps=3,
                                         guidance_scale=5.0))]),
    "wan21_i2v": dict(transformers={"transformer": HEADS_128},
                      runs=[("i2v", dict(height=48, width=64, num_frames=9, num_inference_steps=3,
                                         guidance_scale=5.0, image="i2v_input_64x48.png"))]),
    "wan22_ti2v": dict(transformers={"transformer": HEADS_64},
                       runs=[("t2v", dict(height=64, width=96, num_frames=9, num_inference_steps=3,
                                          guidance_scale=5.0)),
                             ("i2v", dict(height=64, width=96, num_frames=9, num_inference_steps=3,
                                          guidance_scale=5.0, image="ti2v_input_96x64.png"))]),
    "wan22_a14b": dict(transformers={"transformer": HEADS_128, "transformer_2": HEADS_64},
                       runs=[("t2v", dict(height=64, width=48, num_frames=9, num_inference_steps=4,
                                          guidance_scale=4.0, guidance_scale_2=3.0))]),
}


def _make_folder(src: Path, dst: Path, family: str, transformers: dict) -> None:
    from diffusers import WanTransformer3DModel

    dst.mkdir(parents=True)
    for entry in sorted(src.iterdir()):
        if entry.name in transformers:
            continue
        if entry.is_dir() and entry.name != "scheduler":
            os.symlink(os.path.relpath(entry, dst), dst / entry.name)
        elif entry.is_dir():
            shutil.copytree(entry, dst / entry.name)
        else:
            shutil.copy(entry, dst / entry.name)
    for name, heads in transformers.items():
        with open(src / name / "config.json", encoding="utf-8") as f:
            cfg = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
        cfg.update(heads, ffn_dim=256, num_layers=2)
        if cfg.get("added_kv_proj_dim"):
            cfg["added_kv_proj_dim"] = heads["num_attention_heads"] * heads["attention_head_dim"]
        model = WanTransformer3DModel(**cfg).eval()
        reinit_(model, f"emu_pipeline/{family}/{name}")
        model.save_pretrained(str(dst / name), safe_serialization=True)


def _load_bf16(family: str, folder: Path):
    """As users load it: from_pretrained(dtype=bfloat16) per component, which keeps each model's
    _keep_in_fp32_modules in fp32 (the DiT's time embedder, modulation tables and norms; umT5's
    `wo`), and the VAE in fp32."""
    from diffusers import WanImageToVideoPipeline, WanPipeline, WanTransformer3DModel
    from transformers import CLIPVisionModel, UMT5EncoderModel

    loaders = {"transformer": WanTransformer3DModel, "transformer_2": WanTransformer3DModel,
               "text_encoder": UMT5EncoderModel, "image_encoder": CLIPVisionModel}
    parts = {name: cls.from_pretrained(str(folder / name), dtype=BF16).eval()
             for name, cls in loaders.items() if (folder / name).is_dir()}
    cls = WanImageToVideoPipeline if family == "wan21_i2v" else WanPipeline
    pipe = cls.from_pretrained(str(folder), **parts)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _load_fp32(family: str, folder: Path):
    from diffusers import WanImageToVideoPipeline, WanPipeline

    cls = WanImageToVideoPipeline if family == "wan21_i2v" else WanPipeline
    pipe = cls.from_pretrained(str(folder))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _as_i2v(pipe):
    """TI2V image-to-video: WanImageToVideoPipeline over the same components (as ref_pipelines)."""
    from diffusers import WanImageToVideoPipeline

    i2v = WanImageToVideoPipeline(tokenizer=pipe.tokenizer, text_encoder=pipe.text_encoder, vae=pipe.vae,
                                  scheduler=pipe.scheduler, transformer=pipe.transformer, expand_timesteps=True)
    i2v.set_progress_bar_config(disable=True)
    return i2v


def _run(pipe, golden: Golden, file: str, run: str, kwargs: dict, prefix: str = "") -> dict:
    from diffusers import UniPCMultistepScheduler

    pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config)
    noise, steps, decoded = [], [], []
    orig_prepare, orig_decode = pipe.prepare_latents, pipe.vae.decode

    def prepare_latents(*a, **k):
        res = orig_prepare(*a, **k)
        noise.append((res[0] if isinstance(res, tuple) else res).detach().clone())
        return res

    def decode(z, *a, **k):
        out = orig_decode(z, *a, **k)
        decoded.append((out[0] if isinstance(out, tuple) else out.sample).detach().clone())
        return out

    def callback(_pipe, _i, _t, kw):
        steps.append(kw["latents"].detach().clone())
        return {}

    pipe.prepare_latents, pipe.vae.decode = prepare_latents, decode
    try:
        with torch.no_grad():
            pipe(prompt=PROMPT, negative_prompt=NEGATIVE, generator=torch.Generator("cpu").manual_seed(SEED),
                 output_type="pt", callback_on_step_end=callback, callback_on_step_end_tensor_inputs=["latents"],
                 **kwargs)
    finally:
        pipe.__dict__.pop("prepare_latents", None)
        pipe.vae.__dict__.pop("decode", None)
    outputs = {prefix + "initial_latents": golden.add(file, f"{prefix}{run}.initial_latents", noise[0]),
               prefix + "vae_decode_output": golden.add(file, f"{prefix}{run}.vae_decode_output", decoded[0])}
    for i, lat in enumerate(steps):
        outputs[f"{prefix}step{i}.latents"] = golden.add(file, f"{prefix}{run}.step{i}.latents", lat)
    return outputs


def make(out_dir: Path) -> None:
    """Writes <out_dir>/golden_extra/emu_pipeline/ (deterministic; replaces what was there)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    from PIL import Image

    root = out_dir / EXTRA
    shutil.rmtree(root, ignore_errors=True)
    golden = Golden()
    file = "pipeline.safetensors"
    for family, spec in FAMILIES.items():
        folder = root / "models" / family
        _make_folder(out_dir / "models" / family, folder, family, spec["transformers"])
        pipe, pipe32 = _load_bf16(family, folder), _load_fp32(family, folder)
        for tag, run_kwargs in spec["runs"]:
            kwargs = dict(run_kwargs)
            params = dict(kwargs, prompt=PROMPT, negative_prompt=NEGATIVE, seed=SEED)
            if "image" in kwargs:
                png = out_dir / "golden" / family / kwargs["image"]
                kwargs["image"] = Image.open(png).convert("RGB")
                params["image_png"] = os.path.relpath(png, out_dir)
            i2v = family == "wan22_ti2v" and tag == "i2v"
            name = f"{family}.{tag}"
            outputs = _run(_as_i2v(pipe) if i2v else pipe, golden, file, name, kwargs)
            outputs.update(_run(_as_i2v(pipe32) if i2v else pipe32, golden, file, name, kwargs, "fp32."))
            golden.cases.append({
                "name": name, "kind": "pipeline", "family": family, "file": file,
                "model_dir": f"{EXTRA}/models/{family}", "outputs": outputs, "params": params,
                "transformers": {k: dict(v) for k, v in spec["transformers"].items()}})
    golden.write(root, "emu_pipeline",
                 "diffusers Wan pipelines in bf16 (VAE fp32) with DiTs at head_dim 128 and 64 "
                 "(scripts/reference/extra_emu_pipeline.py)", "scripts/reference/extra_emu_pipeline.py")
    print(f"extra_emu_pipeline: {len(golden.cases)} pipeline runs in {root}")


def main() -> None:
    cli(make, __doc__)


if __name__ == "__main__":
    main()
