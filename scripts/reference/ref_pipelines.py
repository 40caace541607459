"""Full pipeline goldens: 3-4 step runs of the real diffusers Wan pipelines on the tiny folders.

Recorded per run (names `<run>.*`): prompt/negative embeddings as the pipeline built them, the
initial noise and conditioning tensors returned by `prepare_latents`, scheduler timesteps/sigmas,
every transformer call (latent_model_input, timestep, output) per step and branch (cond/uncond),
the latents after every step (callback_on_step_end), the denormalised latents handed to vae.decode,
the raw decoded video ([-1,1]) and the final frames (output_type="pt": [B,F,C,H,W] in [0,1]; plus
uint8 = round(frames*255)). Capture is done by wrapping instance methods, so the recorded tensors are
the very tensors the pipeline used.
"""

from __future__ import annotations


import numpy as np
import torch

from ref_common import GoldenSet
from ref_goldens import make_image

PROMPT = "A red fox runs along a misty pine forest at sunrise. The camera pans slowly to the left."
NEGATIVE = "blurry, low quality, static, overexposed, watermark"
SEED = 42


class _Recorder:
    def __init__(self, pipe, gs: GoldenSet, file: str, run: str):
        self.pipe, self.gs, self.file, self.run = pipe, gs, file, run
        self.calls: list[dict] = []
        self.steps: list[dict] = []
        self.names: dict[str, str] = {}
        self.hooks = []
        self.saved: dict[str, object] = {}

    def add(self, key: str, t: torch.Tensor) -> str:
        name = f"{self.run}.{key}"
        self.gs.add(self.file, name, t)
        self.names[key] = name
        return name

    def install(self) -> None:
        p = self.pipe
        rec = self

        orig_encode_prompt = p.encode_prompt

        def encode_prompt(*a, **k):
            pe, npe = orig_encode_prompt(*a, **k)
            rec.add("prompt_embeds", pe)
            if npe is not None:
                rec.add("negative_prompt_embeds", npe)
            return pe, npe

        p.encode_prompt = encode_prompt
        self.saved["encode_prompt"] = orig_encode_prompt

        orig_prepare = p.prepare_latents

        def prepare_latents(*a, **k):
            res = orig_prepare(*a, **k)
            if isinstance(res, tuple):
                rec.add("initial_latents", res[0])
                rec.add("condition", res[1])
                if len(res) > 2:
                    rec.add("first_frame_mask", res[2])
            else:
                rec.add("initial_latents", res)
            return res

        p.prepare_latents = prepare_latents

        if hasattr(p, "encode_image") and getattr(p, "image_encoder", None) is not None:
            orig_ei = p.encode_image

            def encode_image(*a, **k):
                r = orig_ei(*a, **k)
                rec.add("image_embeds", r)
                return r

            p.encode_image = encode_image

        vp = p.video_processor
        orig_pre = vp.preprocess

        def preprocess(*a, **k):
            r = orig_pre(*a, **k)
            # The first call is the image; a second (FLF2V's last_image) is the last frame; VACE
            # preprocesses each reference image.
            key = "image_preprocessed"
            if key in rec.names:
                key = "last_image_preprocessed"
            n = 2
            while key in rec.names:
                key, n = f"image_preprocessed.{n}", n + 1
            rec.add(key, r)
            return r

        vp.preprocess = preprocess
        self.saved["vp_preprocess"] = orig_pre

        vae = p.vae
        orig_decode = vae.decode

        def decode(z, *a, **k):
            rec.add("vae_decode_input", z)
            out = orig_decode(z, *a, **k)
            rec.add("vae_decode_output", out[0] if isinstance(out, tuple) else out.sample)
            return out

        vae.decode = decode
        self.saved["vae_decode"] = orig_decode

        for attr in ("transformer", "transformer_2"):
            mod = getattr(p, attr, None)
            if mod is None:
                continue

            def hook(m, args, kwargs, out, attr=attr):
                rec.calls.append({"model": attr, "hidden_states": kwargs["hidden_states"].detach().clone(),
                                  "timestep": kwargs["timestep"].detach().clone(),
                                  "output": out[0].detach().clone()})

            self.hooks.append(mod.register_forward_hook(hook, with_kwargs=True))

    def callback(self, pipe, i, t, kw):
        self.steps.append({"i": i, "t": t, "latents": kw["latents"].detach().clone(), "calls": self.calls})
        self.calls = []
        return {}

    def uninstall(self) -> None:
        for h in self.hooks:
            h.remove()
        p = self.pipe
        for k in ("encode_prompt", "prepare_latents", "encode_image"):
            p.__dict__.pop(k, None)
        p.video_processor.__dict__.pop("preprocess", None)
        p.vae.__dict__.pop("decode", None)


def _run(pipe, gs: GoldenSet, file: str, run: str, kwargs: dict, extra_params: dict) -> None:
    from diffusers import UniPCMultistepScheduler

    pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config)  # fresh state per run
    rec = _Recorder(pipe, gs, file, run)
    rec.install()
    try:
        g = torch.Generator("cpu").manual_seed(SEED)
        with torch.no_grad():
            frames = pipe(generator=g, output_type="pt", callback_on_step_end=rec.callback,
                          callback_on_step_end_tensor_inputs=["latents"], **kwargs).frames
    finally:
        rec.uninstall()
    sch = pipe.scheduler
    rec.add("scheduler_timesteps", sch.timesteps)
    rec.add("scheduler_sigmas", sch.sigmas)
    step_info = []
    for s in rec.steps:
        i = s["i"]
        rec.add(f"step{i}.latents", s["latents"])
        branches = ["cond", "uncond"]
        models = []
        for j, c in enumerate(s["calls"]):
            b = branches[j]
            rec.add(f"step{i}.{b}.latent_model_input", c["hidden_states"])
            rec.add(f"step{i}.{b}.timestep", c["timestep"])
            rec.add(f"step{i}.{b}.noise_pred", c["output"])
            models.append(c["model"])
        step_info.append({"step": i, "t": int(s["t"]), "model": models[0] if models else None,
                          "branches": branches[:len(s["calls"])]})
    rec.add("frames", frames)
    rec.add("frames_uint8", (frames * 255).round().to(torch.uint8))
    params = {
        "prompt": kwargs.get("prompt"), "negative_prompt": kwargs.get("negative_prompt"),
        "height": kwargs["height"], "width": kwargs["width"], "num_frames": kwargs["num_frames"],
        "num_inference_steps": kwargs["num_inference_steps"], "guidance_scale": kwargs["guidance_scale"],
        "guidance_scale_2": kwargs.get("guidance_scale_2"), "seed": SEED,
        "generator": "torch.Generator('cpu').manual_seed(seed)", "output_type": "pt",
        "max_sequence_length": 512, "pipeline_class": type(pipe).__name__,
        "expand_timesteps": bool(pipe.config.get("expand_timesteps", False)),
        "boundary_ratio": pipe.config.get("boundary_ratio"),
        "scheduler": {k: v for k, v in dict(sch.config).items() if not k.startswith("_")},
        "timesteps": [int(t) for t in sch.timesteps], "sigmas": [float(x) for x in sch.sigmas],
        "steps": step_info,
        "do_classifier_free_guidance": kwargs["guidance_scale"] > 1.0,
    }
    params.update(extra_params)
    gs.case(run, "pipeline", file, {}, dict(sorted(rec.names.items())), params)


def _image_png(gs: GoldenSet, key: str, w: int, h: int):
    img = make_image("pipeline/" + key, w, h)
    png = f"{key}_{w}x{h}.png"
    img.save(gs.root / png, optimize=False, compress_level=9)
    return img, png


def pipeline_goldens(gs: GoldenSet, family: str, pipe) -> None:
    f = "pipeline.safetensors"
    cfg_runs = [("cfg", dict(guidance_scale=5.0, negative_prompt=NEGATIVE)),
                ("nocfg", dict(guidance_scale=1.0))]
    if family == "wan21_t2v":
        for tag, g in cfg_runs:
            _run(pipe, gs, f, f"t2v.{tag}", dict(prompt=PROMPT, height=48, width=80, num_frames=9,
                                                 num_inference_steps=3, **g), {})
    elif family == "wan21_i2v":
        img, png = _image_png(gs, "i2v_input", 64, 48)
        for tag, g in cfg_runs:
            _run(pipe, gs, f, f"i2v.{tag}", dict(image=img, prompt=PROMPT, height=48, width=64, num_frames=9,
                                                 num_inference_steps=3, **g), {"image_png": png})
    elif family == "wan22_ti2v":
        from diffusers import WanImageToVideoPipeline

        for tag, g in cfg_runs:
            _run(pipe, gs, f, f"t2v.{tag}", dict(prompt=PROMPT, height=64, width=96, num_frames=9,
                                                 num_inference_steps=3, **g), {})
        i2v = WanImageToVideoPipeline(tokenizer=pipe.tokenizer, text_encoder=pipe.text_encoder, vae=pipe.vae,
                                      scheduler=pipe.scheduler, transformer=pipe.transformer,
                                      expand_timesteps=True)
        i2v.set_progress_bar_config(disable=True)
        img, png = _image_png(gs, "ti2v_input", 96, 64)
        for tag, g in cfg_runs:
            _run(i2v, gs, f, f"i2v.{tag}", dict(image=img, prompt=PROMPT, height=64, width=96, num_frames=9,
                                                num_inference_steps=3, **g),
                 {"image_png": png, "note": "WanImageToVideoPipeline built from the wan22_ti2v components with "
                                            "expand_timesteps=True (how diffusers runs TI2V-5B image-to-video)"})
    elif family == "wan22_a14b":
        runs = [("cfg", dict(guidance_scale=4.0, guidance_scale_2=3.0, negative_prompt=NEGATIVE)),
                ("nocfg", dict(guidance_scale=1.0, guidance_scale_2=1.0))]
        for tag, g in runs:
            _run(pipe, gs, f, f"t2v.{tag}", dict(prompt=PROMPT, height=64, width=48, num_frames=9,
                                                 num_inference_steps=4, **g),
                 {"boundary_timestep": pipe.config.boundary_ratio * 1000,
                  "expert_rule": "t >= boundary_ratio*1000 -> transformer (high noise, guidance_scale); "
                                 "else transformer_2 (low noise, guidance_scale_2)"})
    else:
        raise KeyError(family)


def check_identity_resize(gs: GoldenSet) -> None:
    """The i2v input PNGs are at the target size, so preprocess must be a plain [-1,1] mapping."""
    from PIL import Image

    for c in gs.cases:
        if c["kind"] != "pipeline" or "image_png" not in c["params"]:
            continue
        img = np.asarray(Image.open(gs.root / c["params"]["image_png"]).convert("RGB"), dtype=np.float32)
        ref = torch.from_numpy(img / 255.0 * 2 - 1).permute(2, 0, 1)[None]
        got = gs.files[c["file"]][c["outputs"]["image_preprocessed"]]
        assert torch.allclose(ref, got, atol=1e-6), "video_processor.preprocess is not an identity resize"
