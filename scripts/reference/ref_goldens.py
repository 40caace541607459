"""Component goldens: umT5 text encoder, CLIP image encoder, Wan DiT forwards, Wan VAEs.

Everything is loaded back from the saved model folders with `from_pretrained` (so the goldens are
exactly what a loader of those folders must reproduce). fp32 runs use the fp32 folder as-is; the
`_bf16` variants load the same folder with `dtype=torch.bfloat16` (diffusers keeps its
`_keep_in_fp32_modules` in fp32, as a real `from_pretrained(..., torch_dtype=bf16)` would; the
manifest lists the parameters that stayed fp32) and cast the floating inputs to bf16.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ref_common import GoldenSet, randn, stats

BF16 = torch.bfloat16


def _fp32_params(model) -> list[str]:
    return sorted(n for n, p in model.named_parameters() if p.dtype == torch.float32)


def _compress_names(names: list[str]) -> list[str]:
    """blocks.0.norm2 / blocks.1.norm2 -> blocks.*.norm2 (manifest readability)."""
    import re

    return sorted({re.sub(r"\.\d+\.", ".*.", n) for n in names})


# ----------------------------------------------------------------------------------------------
# text encoder
# ----------------------------------------------------------------------------------------------

def text_encoder_goldens(out: Path, model_dirs: dict[str, str], root: Path, tok, prompts: dict[str, str],
                         all_strings: list[str], verbose: bool) -> None:
    from transformers import UMT5EncoderModel

    from ref_models import load_pipeline
    from ref_tokenizer import tokenize_like_pipeline

    fam = "wan21_t2v"
    pipe = load_pipeline(fam, root / model_dirs[fam])
    te = pipe.text_encoder
    # the tokenizer a loader gets from the saved folder must reproduce the token goldens exactly
    a, _ = tokenize_like_pipeline(tok, all_strings)
    b, _ = tokenize_like_pipeline(pipe.tokenizer, all_strings)
    assert torch.equal(a, b), "tokenizer loaded from the model folder differs from the in-memory tokenizer"
    gs = GoldenSet(out, "text_encoder", "umT5 encoder (UMT5EncoderModel) + pipeline prompt_embeds")
    names = list(prompts)
    texts = [prompts[k] for k in names]
    ids, mask = tokenize_like_pipeline(tok, texts)
    f = "text_encoder.safetensors"
    gs.add(f, "input_ids", ids)
    gs.add(f, "attention_mask", mask)
    with torch.no_grad():
        o = te(ids, mask, output_hidden_states=True)
        gs.add(f, "last_hidden_state", o.last_hidden_state)
        for i, h in enumerate(o.hidden_states):
            gs.add(f, f"hidden_states.{i}", h)
        pe = pipe._get_t5_prompt_embeds(prompt=texts, max_sequence_length=512, device=torch.device("cpu"))
        gs.add(f, "prompt_embeds", pe)
        te16 = UMT5EncoderModel.from_pretrained(str(root / model_dirs[fam] / "text_encoder"), dtype=BF16).eval()
        o16 = te16(ids, mask)
        gs.add(f, "last_hidden_state_bf16", o16.last_hidden_state)
        if verbose:
            print("  text_encoder last_hidden_state", stats(o.last_hidden_state))
            te_eager = UMT5EncoderModel.from_pretrained(str(root / model_dirs[fam] / "text_encoder"),
                                                        attn_implementation="eager").eval()
            a = te_eager(ids[-1:], mask[-1:], output_attentions=True).attentions  # the 512-token prompt
            print("  text_encoder attn max-prob (512-token prompt, mean over rows, layer0/last; uniform 0.002):",
                  f"{a[0].max(-1).values.mean():.3f}/{a[-1].max(-1).values.mean():.3f}")
    gs.params = {
        "model_dirs": model_dirs,
        "prompts": [{"key": k, "raw": prompts[k]} for k in names],
        "seq_lens": mask.sum(1).tolist(),
        "max_sequence_length": 512,
        "call": "text_encoder(input_ids, attention_mask).last_hidden_state  (positional, like "
                "pipeline_wan.py _get_t5_prompt_embeds)",
        "prompt_embeds": "last_hidden_state[b, :seq_len[b]] then zero rows up to 512 (rows >= seq_len are "
                         "exactly 0.0; NOT masked later in the DiT)",
        "bf16": "UMT5EncoderModel.from_pretrained(dtype=bfloat16); params kept fp32: "
                + ", ".join(_compress_names(_fp32_params(te16))) if _fp32_params(te16) else
                "UMT5EncoderModel.from_pretrained(dtype=bfloat16); all params bf16",
        "hidden_states": "hidden_states.0 = embedding output (dropout off), hidden_states.i = output of "
                         "block i-1 (before final_layer_norm); the last entry is after final_layer_norm",
    }
    gs.case("umt5_encode", "text_encoder", f, {"input_ids": "input_ids", "attention_mask": "attention_mask"},
            {"last_hidden_state": "last_hidden_state", "last_hidden_state_bf16": "last_hidden_state_bf16",
             "prompt_embeds": "prompt_embeds"})
    gs.write()


# ----------------------------------------------------------------------------------------------
# images
# ----------------------------------------------------------------------------------------------

def make_image(name: str, width: int, height: int) -> Image.Image:
    """Deterministic RGB test image: smooth gradients + a disc + a rectangle (no RNG besides name)."""
    import zlib

    s = zlib.crc32(name.encode()) % 997 / 997.0
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = xx / max(width - 1, 1), yy / max(height - 1, 1)
    r = 0.5 + 0.5 * np.sin(2 * np.pi * (u * 1.3 + s))
    g = 0.2 + 0.7 * v
    b = 0.5 + 0.4 * np.cos(2 * np.pi * (u + v) * 0.8 + 3 * s)
    img = np.stack([r, g, b], -1)
    cx, cy, rad = width * (0.3 + 0.4 * s), height * 0.45, min(width, height) * 0.22
    disc = (xx - cx) ** 2 + (yy - cy) ** 2 < rad ** 2
    img[disc] = [0.95, 0.85 * s + 0.1, 0.1]
    x0, y0 = int(width * 0.6), int(height * 0.65)
    img[y0:y0 + max(2, height // 6), x0:x0 + max(2, width // 5)] = [0.1, 0.2, 0.9]
    return Image.fromarray(np.clip(np.round(img * 255), 0, 255).astype(np.uint8), "RGB")


def clip_goldens(gs: GoldenSet, folder: Path, pipe, verbose: bool) -> None:
    from transformers import CLIPVisionModelWithProjection

    f = "clip.safetensors"
    enc16 = CLIPVisionModelWithProjection.from_pretrained(str(folder / "image_encoder"), dtype=BF16).eval()
    imgs = {"square": (64, 64), "landscape": (96, 48), "portrait": (40, 72)}
    info = []
    for key, (w, h) in imgs.items():
        img = make_image("clip/" + key, w, h)
        png = f"clip_{key}_{w}x{h}.png"
        img.save(gs.root / png, optimize=False, compress_level=9)
        with torch.no_grad():
            pv = pipe.image_processor(images=img, return_tensors="pt").pixel_values
            feats = pipe.encode_image(img, torch.device("cpu"))
            o = pipe.image_encoder(pixel_values=pv, output_hidden_states=True)
            o16 = enc16(pixel_values=pv.to(BF16), output_hidden_states=True)
        gs.add(f, f"clip.{key}.pixel_values", pv)
        gs.add(f, f"clip.{key}.encode_image", feats)
        gs.add(f, f"clip.{key}.hidden_states.0", o.hidden_states[0])
        gs.add(f, f"clip.{key}.last_hidden_state", o.last_hidden_state)
        gs.add(f, f"clip.{key}.image_embeds", o.image_embeds)
        gs.add(f, f"clip.{key}.encode_image_bf16", o16.hidden_states[-2])
        assert torch.equal(feats, o.hidden_states[-2])
        info.append({"key": key, "png": png, "width": w, "height": h})
        gs.case(f"clip_{key}", "clip_encode_image", f, {"png": png, "pixel_values": f"clip.{key}.pixel_values"},
                {"encode_image": f"clip.{key}.encode_image", "encode_image_bf16": f"clip.{key}.encode_image_bf16",
                 "last_hidden_state": f"clip.{key}.last_hidden_state", "image_embeds": f"clip.{key}.image_embeds",
                 "hidden_states.0": f"clip.{key}.hidden_states.0"},
                {"width": w, "height": h})
        if verbose:
            print(f"  clip {key} encode_image", stats(feats))
    gs.params["clip"] = {
        "images": info,
        "encode_image": "image_processor(images=PIL, return_tensors='pt') -> image_encoder(pixel_values, "
                        "output_hidden_states=True).hidden_states[-2] (penultimate layer output, no post_layernorm)",
        "processor": "CLIPImageProcessor (saved as image_processor/preprocessor_config.json): resize shortest "
                     "edge to size.shortest_edge (bicubic, PIL), centre crop crop_size, /255, normalise mean/std",
        "hidden_states.0": "embeddings + pre_layrnorm (input of encoder layer 0)",
    }


# ----------------------------------------------------------------------------------------------
# DiT
# ----------------------------------------------------------------------------------------------

DIT_SIZES = {"size_a": (3, 6, 10), "size_b": (2, 8, 4)}  # latent (T, H, W): 45 and 16 tokens
DIT_TIMESTEPS = [999, 613, 37]
DIT_MIXED = [881, 245]
CTX_LENS = (9, 1)  # true prompt lengths of the cond / uncond contexts (rest of the 512 rows = 0)


def _context(name: str, text_dim: int) -> torch.Tensor:
    ctx = randn(name, 2, 512, text_dim)
    for b, n in enumerate(CTX_LENS):
        ctx[b, n:] = 0
    return ctx


def _dit_inputs(prefix: str, cfg: dict, size: tuple[int, int, int], family: str) -> dict[str, torch.Tensor]:
    T, H, W = size
    cin = cfg["in_channels"]
    x = randn(prefix + ".hidden_states", 2, cin, T, H, W)
    if family == "wan21_i2v":  # channels 16..19: the real first-frame mask pattern (latent frame 0 = 1)
        x[:, 16:20] = 0
        x[:, 16:20, 0] = 1
    inp = {"hidden_states": x, "encoder_hidden_states": _context(prefix + ".ctx", cfg["text_dim"])}
    if cfg.get("image_dim"):
        inp["encoder_hidden_states_image"] = randn(prefix + ".ctx_img", 2, 17, cfg["image_dim"])
    return inp


def _debug_hooks(model, store: dict):
    hs = []

    def rec(name):
        def hook(mod, args, kwargs, out):
            o = out[0] if isinstance(out, tuple) else out
            store[name] = o.detach().clone()
        return hook

    def rec_cond(mod, args, kwargs, out):
        temb, tproj, ehs, ehs_img = out
        store["condition_embedder.temb"] = temb.detach().clone()
        store["condition_embedder.timestep_proj"] = tproj.detach().clone()
        store["condition_embedder.encoder_hidden_states"] = ehs.detach().clone()
        if ehs_img is not None:
            store["condition_embedder.encoder_hidden_states_image"] = ehs_img.detach().clone()

    def rec_rope(mod, args, kwargs, out):
        store["rope.freqs_cos"] = out[0].detach().clone()
        store["rope.freqs_sin"] = out[1].detach().clone()

    hs.append(model.patch_embedding.register_forward_hook(rec("patch_embedding"), with_kwargs=True))
    hs.append(model.condition_embedder.register_forward_hook(rec_cond, with_kwargs=True))
    hs.append(model.rope.register_forward_hook(rec_rope, with_kwargs=True))
    for i, blk in enumerate(model.blocks):
        hs.append(blk.register_forward_hook(rec(f"blocks.{i}"), with_kwargs=True))
    return hs


def dit_goldens(gs: GoldenSet, family: str, folder: Path, sub: str, cfg: dict, verbose: bool) -> None:
    from diffusers import WanTransformer3DModel

    f = f"dit_{sub}.safetensors"
    m = WanTransformer3DModel.from_pretrained(str(folder / sub)).eval()
    m16 = WanTransformer3DModel.from_pretrained(str(folder / sub), dtype=BF16).eval()
    pfx = f"{sub}."
    ti2v = family == "wan22_ti2v"
    for size_name, size in DIT_SIZES.items():
        T, H, W = size
        L = T * (H // 2) * (W // 2)
        base = f"{pfx}{size_name}"
        inp = _dit_inputs(f"{family}/{base}", cfg, size, family)
        for k, v in inp.items():
            gs.add(f, f"{base}.{k}", v)
        variants: list[tuple[str, torch.Tensor, dict]] = []
        for t in DIT_TIMESTEPS:
            if ti2v:
                # WanImageToVideoPipeline (expand_timesteps): first latent frame tokens get t = 0
                mask = torch.ones(1, 1, T, H, W)
                mask[:, :, 0] = 0
                ts = (mask[0][0][:, ::2, ::2] * torch.tensor(t)).flatten().unsqueeze(0).expand(2, -1)
                variants.append((f"t{t}.i2v_tokens", ts.contiguous(), {"t": t, "mode": "per-token, first frame 0"}))
                ts2 = (torch.ones(T, H // 2, W // 2) * torch.tensor(t)).flatten().unsqueeze(0).expand(2, -1)
                variants.append((f"t{t}.t2v_tokens", ts2.contiguous(), {"t": t, "mode": "per-token, all t"}))
            else:
                variants.append((f"t{t}", torch.tensor(t).expand(2).contiguous(), {"t": t}))
        if not ti2v:
            variants.append(("tmixed", torch.tensor(DIT_MIXED), {"t": DIT_MIXED}))
        for vname, ts, vparams in variants:
            name = f"{base}.{vname}"
            debug = {} if vname.startswith(f"t{DIT_TIMESTEPS[0]}") else None
            hooks = _debug_hooks(m, debug) if debug is not None else []
            with torch.no_grad():
                out = m(hidden_states=inp["hidden_states"], timestep=ts,
                        encoder_hidden_states=inp["encoder_hidden_states"],
                        encoder_hidden_states_image=inp.get("encoder_hidden_states_image"), return_dict=False)[0]
                out16 = m16(hidden_states=inp["hidden_states"].to(BF16), timestep=ts,
                            encoder_hidden_states=inp["encoder_hidden_states"].to(BF16),
                            encoder_hidden_states_image=(inp["encoder_hidden_states_image"].to(BF16)
                                                         if "encoder_hidden_states_image" in inp else None),
                            return_dict=False)[0]
            for h in hooks:
                h.remove()
            gs.add(f, f"{name}.timestep", ts)
            gs.add(f, f"{name}.output", out)
            gs.add(f, f"{name}.output_bf16", out16)
            outputs = {"output": f"{name}.output", "output_bf16": f"{name}.output_bf16"}
            if debug:
                for k, v in debug.items():
                    gs.add(f, f"{name}.debug.{k}", v)
                    outputs[f"debug.{k}"] = f"{name}.debug.{k}"
            inputs = {k: f"{base}.{k}" for k in inp}
            inputs["timestep"] = f"{name}.timestep"
            gs.case(name, "dit_forward", f, inputs, outputs,
                    dict(vparams, component=sub, latent_size_TxHxW=list(size), tokens=L, batch=2,
                         context_true_lens=list(CTX_LENS)))
            if verbose and vname.startswith(f"t{DIT_TIMESTEPS[0]}"):
                rel = (out16.float() - out).abs().max() / out.abs().max()
                print(f"  dit {family}/{sub} {size_name} {vname} out {stats(out)} bf16 rel-maxdiff {rel:.3f}")
    gs.params.setdefault("dit", {})[sub] = {
        "config_dir": f"{sub}/config.json",
        "timestep_dtype": "int64 [B] for Wan2.1/A14B (scheduler.timesteps are int64); float32 [B, L] for "
                          "TI2V (pipeline: (mask[0][0][:, ::2, ::2] * t).flatten())",
        "context": f"encoder_hidden_states [2,512,text_dim]: rows >= {list(CTX_LENS)} are zero (like "
                   "prompt_embeds); batch row 0 = cond, row 1 = uncond",
        "bf16_params_kept_fp32": _compress_names(_fp32_params(m16)),
        "debug": "for the first timestep of each size: rope.freqs_cos/sin [1,L,1,head_dim] (fp32), "
                 "patch_embedding output [B,dim,T,H/2,W/2], condition_embedder.temb [B,dim] or [B,L,dim], "
                 "condition_embedder.timestep_proj [B,6*dim] or [B,L,6*dim], "
                 "condition_embedder.encoder_hidden_states [B,512,dim], blocks.i output [B,L,dim]",
    }
    if verbose:
        _attn_stats(m, family, sub, cfg)


def _attn_stats(m, family: str, sub: str, cfg: dict) -> None:
    """Print mean max-softmax-probability of self-attention (saturation check) for size_a."""
    T, H, W = DIT_SIZES["size_a"]
    inp = _dit_inputs(f"{family}/{sub}.size_a", cfg, (T, H, W), family)
    cap = {}
    blk = m.blocks[0].attn1
    h1 = blk.norm_q.register_forward_hook(lambda mod, a, o: cap.__setitem__("q", o))
    h2 = blk.norm_k.register_forward_hook(lambda mod, a, o: cap.__setitem__("k", o))
    ts = torch.tensor(500).expand(2)
    if family == "wan22_ti2v":
        ts = torch.full((2, T * (H // 2) * (W // 2)), 500.0)
    with torch.no_grad():
        m(hidden_states=inp["hidden_states"], timestep=ts, encoder_hidden_states=inp["encoder_hidden_states"],
          encoder_hidden_states_image=inp.get("encoder_hidden_states_image"), return_dict=False)
    h1.remove()
    h2.remove()
    q = cap["q"].unflatten(2, (blk.heads, -1)).transpose(1, 2)
    k = cap["k"].unflatten(2, (blk.heads, -1)).transpose(1, 2)
    p = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, -1)
    print(f"  dit {family}/{sub} block0 self-attn max-prob mean {p.max(-1).values.mean():.3f} "
          f"(uniform would be {1 / p.shape[-1]:.3f})")


# ----------------------------------------------------------------------------------------------
# VAE
# ----------------------------------------------------------------------------------------------

def make_clip_video(name: str, frames: int, height: int, width: int) -> torch.Tensor:
    """[1,3,F,H,W] in [-1,1]: moving smooth pattern + a little noise."""
    t = torch.arange(frames, dtype=torch.float32).view(1, 1, frames, 1, 1)
    y = torch.linspace(0, 1, height).view(1, 1, 1, height, 1)
    x = torch.linspace(0, 1, width).view(1, 1, 1, 1, width)
    c = torch.arange(3, dtype=torch.float32).view(1, 3, 1, 1, 1)
    v = 0.7 * torch.sin(6.0 * x + 4.0 * y + 0.5 * t + 2.0 * c) * torch.cos(3.0 * y - 0.3 * t + c)
    v = v + randn(name, 1, 3, frames, height, width, scale=0.05)
    return v.clamp(-1, 1)


VAE_CASES = {
    # name: (encode clip F,H,W) ; decode latents (T,h,w) derived from the spatial factor
    "vae21": {"enc": {"a_f1": (1, 32, 48), "a_f9": (9, 32, 48), "b_f5": (5, 48, 24)},
              "dec": {"a_t1": (1, 4, 6), "a_t3": (3, 4, 6), "b_t2": (2, 6, 3)}},
    "vae22": {"enc": {"a_f1": (1, 32, 64), "a_f9": (9, 32, 64), "b_f5": (5, 64, 32)},
              "dec": {"a_t1": (1, 2, 4), "a_t3": (3, 2, 4), "b_t2": (2, 4, 2)}},
}


def vae_goldens(out: Path, which: str, model_dirs: dict[str, str], root: Path, verbose: bool) -> None:
    from diffusers import AutoencoderKLWan

    src = model_dirs[0]
    vae = AutoencoderKLWan.from_pretrained(str(root / src / "vae")).eval()
    v16 = AutoencoderKLWan.from_pretrained(str(root / src / "vae"), dtype=BF16).eval()
    gs = GoldenSet(out, which, f"AutoencoderKLWan ({'Wan2.1' if which == 'vae21' else 'Wan2.2'} config): raw "
                                "encode/decode, NO latents_mean/std normalisation")
    f = "vae.safetensors"
    z = vae.config.z_dim
    for key, (F, H, W) in VAE_CASES[which]["enc"].items():
        x = make_clip_video(f"{which}/enc/{key}", F, H, W)
        with torch.no_grad():
            dist = vae.encode(x).latent_dist
            dist16 = v16.encode(x.to(BF16)).latent_dist
        n = f"encode.{key}"
        gs.add(f, f"{n}.input", x)
        gs.add(f, f"{n}.moments", dist.parameters)
        gs.add(f, f"{n}.mean", dist.mean)
        gs.add(f, f"{n}.mean_bf16", dist16.mean)
        assert torch.equal(dist.mode(), dist.mean)
        gs.case(n, "vae_encode", f, {"x": f"{n}.input"},
                {"moments": f"{n}.moments", "mean": f"{n}.mean", "mean_bf16": f"{n}.mean_bf16"},
                {"frames": F, "height": H, "width": W, "latent_frames": (F - 1) // 4 + 1})
        if verbose:
            print(f"  {which} encode {key} mean {stats(dist.mean)}")
    for key, (T, h, w) in VAE_CASES[which]["dec"].items():
        zz = randn(f"{which}/dec/{key}", 1, z, T, h, w)
        with torch.no_grad():
            y = vae.decode(zz, return_dict=False)[0]
            y16 = v16.decode(zz.to(BF16), return_dict=False)[0]
        n = f"decode.{key}"
        gs.add(f, f"{n}.input", zz)
        gs.add(f, f"{n}.output", y)
        gs.add(f, f"{n}.output_bf16", y16)
        gs.case(n, "vae_decode", f, {"z": f"{n}.input"}, {"output": f"{n}.output", "output_bf16": f"{n}.output_bf16"},
                {"latent_frames": T, "frames": 1 + 4 * (T - 1), "latent_height": h, "latent_width": w})
        if verbose:
            print(f"  {which} decode {key} out {stats(y)} clamped-frac {(y.abs() >= 1).float().mean():.3f}")
    gs.params = {
        "model_dirs": model_dirs,
        "vae_config": {k: v for k, v in dict(vae.config).items() if not k.startswith("_")},
        "normalisation_applied": False,
        "normalisation_note": "goldens are raw AutoencoderKLWan I/O. The pipelines normalise OUTSIDE the VAE: "
                              "encode: (mean - latents_mean) / latents_std; decode input: z * latents_std + "
                              "latents_mean (vae/config.json latents_mean/latents_std); covered by pipeline goldens",
        "encode": "vae.encode(x).latent_dist: moments = quant_conv output [B,2z,T,h,w]; mean = moments[:, :z] = "
                  "mode(); logvar = clamp(moments[:, z:], -30, 20) (unused by Wan pipelines)",
        "decode": "vae.decode(z).sample, clamped to [-1,1] inside _decode",
        "chunking": "encode: frames fed as 1, 4, 4, ... ; decode: one latent frame at a time (first_chunk=True "
                    "for the first); no tiling, no slicing",
        "bf16": "AutoencoderKLWan.from_pretrained(dtype=bfloat16) (no fp32-kept modules), inputs cast to bf16",
    }
    gs.write()
