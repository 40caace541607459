"""Trains the tiny Wan-architecture model on the synthetic world (see README.md here).

  .venv/bin/python scripts/train/train.py --work ~/.cache/rayvid/train/world
      [--stage text|vae|dit|tune] [--start anywhere|leaving] [--steps N] [--minutes M] [--smoke]
  .venv/bin/python scripts/train/train.py --work ... --export models/rayvid-world

Stages, each resumable: every --save-every steps its state (weights, optimizer, step, RNG state,
loss log) is written atomically to <work>/<stage>.pt, and a restart continues from there, so a
run cut off by the 3-hour session limit loses at most --save-every steps. With a fixed thread
count (torch.set_num_threads) a resumed run draws exactly what an uninterrupted one would.

  text the demo's umT5 trained so that every token of a caption carries its attributes (optional).
  vae  AutoencoderKLWan (Wan2.2 residual layout, patch 2, 8x spatial / 4x temporal, z 16),
       reconstruction of the posterior mean (object- and chroma-weighted L1 + MSE, a small penalty
       on the latents' size), on the world's clips rendered on the fly.
  dit  WanTransformer3DModel with flow matching on the trained VAE's latents (normalised with
       their own mean/std, measured once and saved), the umT5 (the text stage's or the demo's, fixed),
       10 % empty prompts (for guidance), and half the clips conditioned on their first latent
       frame as Wan2.2 TI2V does (expand_timesteps: timestep 0 on frame 0, no loss there), so
       one model does text-to-video and image-to-video.
  tune the dit stage's model trained further (grown, object-weighted, mostly text-only; optional).
  --export writes the diffusers folder WanPipeline(expand_timesteps=True) that rayvid loads.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic_world as world  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "models" / "rayvid-tiny-ti2v"  # its tokenizer is reused, and its umT5 (frozen or trained)

# Wan2.2-style VAE (residual stages with space-to-depth shortcuts, patch 2) at 8x spatial /
# 4x temporal, z 16: on this world it learns several times faster per second than the Wan2.1
# layout of the same size (whose reconstructions stayed colourless grey blobs for hundreds of
# steps), and rayvid runs both layouts with the same code.
VAE_CFG = dict(base_dim=16, decoder_base_dim=16, z_dim=16, dim_mult=[1, 2, 2], num_res_blocks=1, attn_scales=[],
               temperal_downsample=[True, True], dropout=0.0, is_residual=True, in_channels=12, out_channels=12,
               patch_size=2, scale_factor_spatial=8, scale_factor_temporal=4)
DIT_CFG = dict(patch_size=(1, 2, 2), num_attention_heads=4, attention_head_dim=32, in_channels=16,
               out_channels=16, text_dim=64, freq_dim=256, ffn_dim=512, num_layers=4, cross_attn_norm=True,
               qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=None, added_kv_proj_dim=None,
               rope_max_seq_len=1024, pos_embed_seq_len=None)
SMOKE_VAE = dict(VAE_CFG, base_dim=4, decoder_base_dim=4)
SMOKE_DIT = dict(DIT_CFG, num_attention_heads=2, ffn_dim=64, num_layers=1)
FLOW_SHIFT = 3.0
DATA_SEED = 20261202
START = "anywhere"  # where the world's objects start (synthetic_world.STARTS); set by --start


def clips(step: int, batch: int, seed: int, frames: int = world.FRAMES) -> tuple[torch.Tensor, list[str]]:
    """The batch for `step`: [B, 3, F, H, W] in [-1, 1] and the captions; a pure function of
    (seed, step), so resuming replays nothing and skips nothing."""
    specs = world.sample_specs(batch, seed + step, train=True)
    video = np.stack([world.render(s, seed=(seed + step) * 1000 + i, frames=frames, start=START)
                      for i, s in enumerate(specs)])
    x = torch.from_numpy(video).permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0
    return x, [world.caption(s) for s in specs]


def save_state(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def run_stage(name: str, work: Path, model: torch.nn.Module, loss_fn, args, lr: float,
              recipe: dict | None = None, recipe_before: dict | None = None) -> None:
    """The loop the stages share: AdamW with warm-up, resume, periodic atomic saves, a time limit.
    `recipe` (choices beside the world that shape the stage) is saved with it, and a stage resumes
    only under its own; `recipe_before` is what states saved before recipes were recorded used."""
    path = work / f"{name}.pt"
    recipe = recipe or {}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0,
                            betas=(0.9, 0.99))
    state = {"step": 0, "log": []}
    if path.exists():
        saved = torch.load(path, weights_only=False)
        trained_in = saved.get("start", "leaving")  # states from before the choice: "leaving"
        if name != "text" and trained_in != START:  # the text stage renders no clips
            sys.exit(f"train.py: {path} was trained with --start {trained_in}; resume it with --start "
                     f"{trained_in}, or give a new --work for --start {START}")
        saved_recipe = saved.get("recipe", recipe if recipe_before is None else recipe_before)
        if saved_recipe != recipe:
            sys.exit(f"train.py: {path} was trained with {saved_recipe}, not {recipe}; resume it with the "
                     "same options, or give a new --work")
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])
        state = {"step": saved["step"], "log": saved["log"]}
        torch.set_rng_state(saved["rng"])
        print(f"{name}: resumed at step {state['step']}")
    else:
        torch.manual_seed(DATA_SEED)
    started, first = time.time(), state["step"]
    model.train()
    # --stop-at: end early at that step, on --steps' schedule (how a longer run continues one).
    last = min(args.steps, args.stop_at) if args.stop_at else args.steps
    while state["step"] < last:
        step = state["step"]
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / args.steps)))
        loss, parts = loss_fn(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state["step"] = step + 1
        state["log"].append([step, loss.item(), *parts])
        if step % 10 == 0:
            print(f"{name} step {step}/{args.steps} loss {loss.item():.4f} {parts} "
                  f"({(time.time() - started) / max(1, state['step'] - first):.2f} s/step)", flush=True)
        done = state["step"] >= last
        out_of_time = args.minutes and time.time() - started > args.minutes * 60
        if done or out_of_time or state["step"] % args.save_every == 0:
            save_state(path, {"model": model.state_dict(), "opt": opt.state_dict(), "step": state["step"],
                              "log": state["log"], "rng": torch.get_rng_state(), "start": START,
                              "recipe": recipe})
        if out_of_time:
            print(f"{name}: stopped after {args.minutes} min at step {state['step']} (resumable)")
            return


def make_vae(cfg):
    from diffusers import AutoencoderKLWan

    return AutoencoderKLWan(**cfg)


def decode_unclamped(vae, z: torch.Tensor) -> torch.Tensor:
    """AutoencoderKLWan._decode without its final clamp to [-1, 1]: while training, the clamp
    zeroes the gradient of every saturated pixel (a VAE fresh from initialisation saturates many,
    and its loss stalls near 0.9). Same frame-by-frame causal decoding with the feature cache."""
    vae.clear_cache()
    x = vae.post_quant_conv(z)
    frames = []
    for i in range(z.shape[2]):
        vae._conv_idx = [0]
        frames.append(vae.decoder(x[:, :, i:i + 1], feat_cache=vae._feat_map, feat_idx=vae._conv_idx,
                                  first_chunk=i == 0))
    vae.clear_cache()
    out = torch.cat(frames, 2)
    if vae.config.patch_size is not None:
        from diffusers.models.autoencoders.autoencoder_kl_wan import unpatchify

        out = unpatchify(out, patch_size=vae.config.patch_size)
    return out


def opponent(v: torch.Tensor) -> torch.Tensor:
    """RGB [B, 3, ...] -> luminance and two chroma axes (red-green, blue-yellow), chroma x4."""
    r, g, b = v[:, 0], v[:, 1], v[:, 2]
    return torch.stack([(r + g + b) / 3, 4 * (r - g), 4 * (b - (r + g) / 2)], 1)


def train_vae(work: Path, args) -> None:
    vae = make_vae(SMOKE_VAE if args.smoke else VAE_CFG)

    def loss_fn(step):
        # Shorter clips than the DiT's (the causal VAE takes any 4n+1): the VAE's cost per step
        # grows with frames, and 9 frames already exercise both temporal downsamplings.
        x, _ = clips(step, args.batch, DATA_SEED, frames=args.vae_frames)
        # The posterior mean, not a sample: at initialisation the encoder's log-variance is about
        # 0, so a sample is mostly unit noise and the decoder learns nothing for hundreds of steps.
        # The DiT stage and rayvid both encode to the mean. A small penalty keeps the latents'
        # scale bounded (they are normalised by their measured statistics afterwards anyway).
        z = vae.encode(x).latent_dist.mean
        rec = decode_unclamped(vae, z)
        # The objects are a few percent of the pixels and their colour is a low-variance direction
        # of the data: plain L1 first learns luminance and the background and leaves the objects
        # grey blobs for a long time. So the L1 is taken in an opponent colour space with the
        # chroma axes weighted 4x, and pixels away from the frame's median colour (the objects)
        # weigh 20x; an MSE over RGB keeps the rest honest.
        median = x.flatten(3).median(dim=3).values[..., None, None]
        weight = 1 + 20 * ((x - median).abs().amax(1, keepdim=True) > 0.15).float()
        l1 = ((opponent(rec) - opponent(x)).abs() * weight).sum() / (weight.sum() * 3)
        l2 = F.mse_loss(rec, x)
        size = (z ** 2).mean()
        return l1 + l2 + 1e-4 * size, [F.l1_loss(rec, x).item(), l2.item(), size.item()]

    run_stage("vae", work, vae, loss_fn, args, lr=1e-3)


def load_vae(work: Path, smoke: bool):
    vae = make_vae(SMOKE_VAE if smoke else VAE_CFG)
    vae.load_state_dict(torch.load(work / "vae.pt", weights_only=False)["model"])
    return vae.eval().requires_grad_(False)


# What a caption says, attribute by attribute: the text stage's targets.
ATTRIBUTES = {"shape": world.SHAPES, "colour": tuple(world.COLOURS), "direction": tuple(world.DIRECTIONS),
              "speed": tuple(world.SPEEDS), "background": tuple(world.BACKGROUNDS), "camera": world.CAMERAS}


def text_model(work: Path):
    """The umT5 the DiT reads: the text stage's when it ran, else the demo's random one."""
    from transformers import UMT5EncoderModel

    enc = UMT5EncoderModel.from_pretrained(str(DEMO / "text_encoder"))
    if (work / "text.pt").exists():
        trained = torch.load(work / "text.pt", weights_only=False)["model"]
        enc.load_state_dict({k[len("encoder."):]: v for k, v in trained.items() if k.startswith("encoder.")})
    return enc


def train_text(work: Path, args) -> None:
    """The text encoder: the demo's random umT5 trained so that each token of a caption carries what
    the whole caption says (a linear head per attribute reads shape, colour, direction, speed,
    background and camera from every token), as a real Wan reads a pretrained umT5. With the random
    umT5 the DiT learned the colour (whose words stand out) but not the direction, whose words it
    had to find among 500 padding keys; with this one it uses the direction (README.md, Status)."""
    from transformers import AutoTokenizer, UMT5EncoderModel

    tok = AutoTokenizer.from_pretrained(str(DEMO / "tokenizer"))
    enc = UMT5EncoderModel.from_pretrained(str(DEMO / "text_encoder"))  # resumed by run_stage
    heads = torch.nn.ModuleDict({k: torch.nn.Linear(enc.config.d_model, len(v)) for k, v in ATTRIBUTES.items()})
    model = torch.nn.ModuleDict({"encoder": enc, "heads": heads})

    def batch_loss(specs):
        t = tok([world.caption(s) for s in specs], padding="longest", return_tensors="pt")
        h = enc(t.input_ids, t.attention_mask).last_hidden_state  # [B, L, d]
        mask = t.attention_mask.bool()
        losses, right = [], []
        for k, values in ATTRIBUTES.items():
            target = torch.tensor([values.index(getattr(s, k)) for s in specs])
            logits = heads[k](h)[mask]
            labels = target[:, None].expand(mask.shape)[mask]
            losses.append(F.cross_entropy(logits, labels))
            right.append((logits.argmax(-1) == labels).float().mean().item())
        return sum(losses) / len(losses), min(right)

    def loss_fn(step):
        return batch_loss(world.sample_specs(args.batch, DATA_SEED + 13 + step))[0], []

    run_stage("text", work, model, loss_fn, args, lr=args.lr or 1e-3)
    model.eval()
    with torch.no_grad():
        _, worst = batch_loss(list(world.all_specs(train=False))[::7])
    print(f"text: every attribute read from every token of held-out captions: worst {worst * 100:.1f} %")


def text_encoder(work: Path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(DEMO / "tokenizer"))
    enc = text_model(work).eval().requires_grad_(False)
    cache: dict[str, torch.Tensor] = {}

    def encode(prompts: list[str]) -> torch.Tensor:
        """As WanPipeline._get_t5_prompt_embeds: padded to 512, rows past the prompt zero."""
        for p in prompts:
            if p not in cache:
                t = tok([p], padding="max_length", max_length=512, truncation=True, return_tensors="pt")
                h = enc(t.input_ids, t.attention_mask).last_hidden_state[0]
                n = int(t.attention_mask.sum())
                cache[p] = torch.cat([h[:n], h.new_zeros(512 - n, h.shape[1])])
        return torch.stack([cache[p] for p in prompts])

    return encode


def latent_stats(vae, work: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of the trained VAE's latents over 32 clips (saved once)."""
    path = work / "latent_stats.json"
    if path.exists():
        s = json.loads(path.read_text())
        return torch.tensor(s["mean"]), torch.tensor(s["std"])
    zs = []
    with torch.no_grad():
        for i in range(8):
            x, _ = clips(10_000_000 + i, 4, DATA_SEED)
            zs.append(vae.encode(x).latent_dist.mean)
    z = torch.cat(zs).transpose(0, 1).flatten(1)
    mean, std = z.mean(1), z.std(1)
    path.write_text(json.dumps({"mean": mean.tolist(), "std": std.tolist()}))
    return mean, std


def object_weight(x: torch.Tensor, latent_shape) -> torch.Tensor:
    """[B, 1, T, h, w] on the latent grid: 1 where a latent cell covers no pixel away from its
    frame's median colour (the background), else 1 + weight later. Latent frame 0 is pixel frame
    0, latent frame k pixel frames 4k-3..4k (the causal VAE's grouping); cells are max-pooled."""
    median = x.flatten(3).median(dim=3).values[..., None, None]
    mask = ((x - median).abs().amax(1, keepdim=True) > 0.15).float()  # [B, 1, F, H, W]
    b, _, f, hh, ww = mask.shape
    first, rest = mask[:, :, :1], mask[:, :, 1:].reshape(b, 1, (f - 1) // 4, 4, hh, ww).amax(3)
    grouped = torch.cat([first, rest], 2)
    t, h, w = latent_shape
    return F.adaptive_max_pool3d(grouped, (t, h, w))


def flow_loss(dit, vae, mean, std, encode, empty, gen, x, captions, *, i2v_fraction: float,
              object_weight_scale: float, z: torch.Tensor | None = None):
    """Flow matching (shift FLOW_SHIFT) on the normalised latents of clips x (or their posterior
    means z, already encoded), with 10 % empty prompts and i2v_fraction of the clips conditioned on
    their first latent frame as TI2V; each latent cell's error weighs 1 + object_weight_scale where
    it covers an object (which needs x)."""
    if z is None:
        with torch.no_grad():
            z = vae.encode(x).latent_dist.mean
    z0 = (z - mean.view(1, -1, 1, 1, 1)) / std.view(1, -1, 1, 1, 1)  # [B, 16, T, h, w]
    b, _, t, h, w = z0.shape
    text = encode(captions)
    drop = torch.rand(b, generator=gen) < 0.1
    text = torch.where(drop.view(-1, 1, 1), empty.expand_as(text), text)
    u = torch.rand(b, generator=gen)
    sigma = FLOW_SHIFT * u / (1 + (FLOW_SHIFT - 1) * u)
    noise = torch.randn(z0.shape, generator=gen)
    zt = (1 - sigma.view(-1, 1, 1, 1, 1)) * z0 + sigma.view(-1, 1, 1, 1, 1) * noise
    # Image-to-video as TI2V: the first latent frame clean, timestep 0 on its tokens.
    i2v = torch.rand(b, generator=gen) < i2v_fraction
    frame_mask = torch.ones(b, 1, t, h, w)
    frame_mask[i2v, :, 0] = 0
    zt = frame_mask * zt + (1 - frame_mask) * z0
    timestep = (frame_mask[:, 0, :, ::2, ::2].flatten(1) * sigma.view(-1, 1) * 1000)  # [B, L]
    v = dit(hidden_states=zt, timestep=timestep, encoder_hidden_states=text, return_dict=False)[0]
    weight = frame_mask
    if object_weight_scale:
        weight = frame_mask * (1 + object_weight_scale * object_weight(x, (t, h, w)))
    err = (v - (noise - z0)) ** 2 * weight
    loss = err.sum() / (weight.sum() * z0.shape[1])
    return loss, [sigma.mean().item()]


def padding_biases(dit) -> list[torch.nn.Parameter]:
    """The biases that give WanPipeline's zero padding rows (512 minus the prompt's length of them)
    a key and a value: the text projection's two and every cross-attention's key and value."""
    text = dit.condition_embedder.text_embedder
    biases = [text.linear_1.bias, text.linear_2.bias]
    for block in dit.blocks:
        biases += [block.attn2.to_k.bias, block.attn2.to_v.bias]
    return biases


def silence_padding(dit) -> None:
    """Holds padding_biases at zero (--padding silent). A zero text row then projects to a zero
    key, which the RMS key norm keeps zero, and a zero value: each of the ~500 padding rows scores
    0 against every query and adds nothing. With learned biases they are ~500 identical keys that a
    caption's ~20 tokens must outscore (the qk norms bound every score by about sqrt(head_dim)),
    and whatever share of the attention they keep adds their constant value to every cell. Still
    Wan's architecture and WanPipeline's padding: the biases are only zero."""
    for bias in padding_biases(dit):
        bias.data.zero_()
        bias.requires_grad_(False)


def latent_cache(work: Path, vae, size: int) -> tuple[torch.Tensor, list[str]]:
    """`size` clips of the world (8 at a time, each batch a pure function of its index), their VAE
    posterior means and captions: built once per work dir, world start and size, saved every 200
    clips (a cut-off build resumes). Encoding is two thirds of an uncached dit step on the CPU;
    with the cache a step is the DiT's alone, and each clip is seen several times with new noise."""
    path = work / f"latents-{START}-{size}.pt"
    saved = torch.load(path, weights_only=False) if path.exists() else {"z": [], "captions": []}
    started = time.time()
    with torch.no_grad():
        while len(saved["captions"]) < size:
            x, captions = clips(len(saved["z"]), 8, DATA_SEED + 29)
            saved["z"].append(vae.encode(x).latent_dist.mean)
            saved["captions"] += captions
            have = len(saved["captions"])
            if have % 200 == 0 or have >= size:
                save_state(path, saved)
                print(f"latent cache: {have}/{size} clips ({time.time() - started:.0f} s)", flush=True)
    return torch.cat(saved["z"])[:size], saved["captions"][:size]


def cached_batch(cache, step: int, batch: int) -> tuple[torch.Tensor, list[str]]:
    """`batch` clips of a latent cache, drawn (with replacement) as a pure function of the step."""
    z, captions = cache
    pick = torch.randint(len(z), (batch,), generator=torch.Generator().manual_seed(DATA_SEED + step))
    return z[pick], [captions[i] for i in pick]


def batch_loss(dit, vae, mean, std, encode, empty, gen, *, cache, batch: int, seed: int, i2v_fraction: float,
               object_weight_scale: float):
    """The loss of a dit or tune step: on `batch` clips rendered afresh (from `seed`), or drawn from
    the latent cache when there is one (which keeps no pixels, so no object weight)."""
    def loss_fn(step):
        if cache is None:
            x, captions = clips(step, batch, seed)
            return flow_loss(dit, vae, mean, std, encode, empty, gen, x, captions, i2v_fraction=i2v_fraction,
                             object_weight_scale=object_weight_scale)
        z, captions = cached_batch(cache, step, batch)
        return flow_loss(dit, vae, mean, std, encode, empty, gen, None, captions, i2v_fraction=i2v_fraction,
                         object_weight_scale=0.0, z=z)
    return loss_fn


def train_dit(work: Path, args) -> None:
    from diffusers import WanTransformer3DModel

    vae = load_vae(work, args.smoke)
    mean, std = latent_stats(vae, work)
    encode = text_encoder(work)
    dit = WanTransformer3DModel(**(SMOKE_DIT if args.smoke else DIT_CFG))
    if (args.padding or "silent") == "silent":
        silence_padding(dit)
    gen = torch.Generator().manual_seed(DATA_SEED + 1)
    empty = encode([""])
    object_weight_scale = 0.0 if args.object_weight is None else args.object_weight
    cache = latent_cache(work, vae, args.latent_cache) if args.latent_cache else None
    loss_fn = batch_loss(dit, vae, mean, std, encode, empty, gen, cache=cache, batch=args.batch, seed=DATA_SEED + 7,
                         i2v_fraction=0.5, object_weight_scale=object_weight_scale)

    recipe = {"padding": args.padding or "silent", "object_weight": object_weight_scale}
    if args.latent_cache:
        recipe["latent_cache"] = args.latent_cache
    run_stage("dit", work, dit, loss_fn, args, lr=3e-4, recipe=recipe,
              recipe_before={"padding": "learned", "object_weight": 0.0})


def dit_padding(work: Path) -> str:
    """How the dit stage in `work` treated the prompt's padding (before the choice: learned)."""
    return torch.load(work / "dit.pt", weights_only=False).get("recipe", {}).get("padding", "learned")


def grown_dit(work: Path, smoke: bool, layers: int):
    """The dit stage's model with `layers` blocks: its blocks, then new ones that start as the
    identity (their attention and FFN output projections zero, so each adds nothing until trained)."""
    from diffusers import WanTransformer3DModel

    base = SMOKE_DIT if smoke else DIT_CFG
    trained = torch.load(work / "dit.pt", weights_only=False)["model"]
    have = 1 + max(int(k.split(".")[1]) for k in trained if k.startswith("blocks."))
    assert layers >= have, f"--layers {layers} is fewer than the trained {have}"
    torch.manual_seed(DATA_SEED + 2)
    dit = WanTransformer3DModel(**dict(base, num_layers=layers))
    missing, unexpected = dit.load_state_dict(trained, strict=False)
    assert not unexpected and all(k.startswith("blocks.") and int(k.split(".")[1]) >= have for k in missing)
    with torch.no_grad():
        for block in dit.blocks[have:]:
            for linear in (block.attn1.to_out[0], block.attn2.to_out[0], block.ffn.net[-1]):
                linear.weight.zero_()
                linear.bias.zero_()
    return dit


def tune_dit(work: Path, args) -> None:
    """The text-to-video stage: the dit stage's model, grown to --layers, trained further with
    --i2v-fraction of the clips image-to-video (the rest text-only) and each object cell's error
    weighted --object-weight more (the object is a few percent of the latent cells: with an even loss the model learned
    the background and left the object where the average clip has it, the centre)."""
    vae = load_vae(work, args.smoke)
    mean, std = latent_stats(vae, work)
    encode = text_encoder(work)
    dit = grown_dit(work, args.smoke, args.layers)
    padding = dit_padding(work)  # the dit stage's: the grown model keeps it
    if padding == "silent":
        silence_padding(dit)
    gen = torch.Generator().manual_seed(DATA_SEED + 3)
    empty = encode([""])
    # The object weight needs pixels, which a latent cache does not keep: without one it defaults to 8.
    object_weight_scale = args.object_weight if args.object_weight is not None else 0.0 if args.latent_cache else 8.0
    i2v_fraction = 0.25 if args.i2v_fraction is None else args.i2v_fraction
    cache = latent_cache(work, vae, args.latent_cache) if args.latent_cache else None
    loss_fn = batch_loss(dit, vae, mean, std, encode, empty, gen, cache=cache, batch=args.batch, seed=DATA_SEED + 11,
                         i2v_fraction=i2v_fraction, object_weight_scale=object_weight_scale)

    recipe = {"padding": padding, "object_weight": object_weight_scale, "i2v_fraction": i2v_fraction}
    if args.latent_cache:
        recipe["latent_cache"] = args.latent_cache
    run_stage("tune", work, dit, loss_fn, args, lr=args.lr or 1e-4, recipe=recipe)


def seed_from(work: Path, folder: Path) -> None:
    """Writes <work>/vae.pt, dit.pt and latent_stats.json from an exported model folder (weights
    and step counts; the loss logs stay in the folder's provenance.json): continues a model whose
    training state is gone with --stage tune."""
    from diffusers import AutoencoderKLWan, WanTransformer3DModel

    prior = json.loads((folder / "provenance.json").read_text())
    (work / "prior_provenance.json").write_text(json.dumps(prior, indent=2) + "\n")
    vae = AutoencoderKLWan.from_pretrained(str(folder / "vae"))
    dit = WanTransformer3DModel.from_pretrained(str(folder / "transformer"))
    for name, model in (("vae", vae), ("dit", dit)):
        save_state(work / f"{name}.pt", {"model": model.state_dict(), "step": prior["stages"][name]["steps"],
                                         "log": [], "seeded_from": str(folder)})
    (work / "latent_stats.json").write_text(json.dumps({"mean": list(vae.config.latents_mean),
                                                        "std": list(vae.config.latents_std)}))
    print(f"seeded {work} from {folder}")


def final_dit_stage(work: Path) -> str:
    """The DiT export takes: the tune stage's when it ran, else the dit stage's."""
    return "tune.pt" if (work / "tune.pt").exists() else "dit.pt"


def dit_config(state: dict, smoke: bool) -> dict:
    layers = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks."))
    return dict(SMOKE_DIT if smoke else DIT_CFG, num_layers=layers)


def export(work: Path, dest: Path, smoke: bool) -> None:
    """The diffusers folder: trained VAE (with its latent statistics) and DiT, the umT5 (the text
    stage's, else the demo's) and the demo's tokenizer, UniPC with the training shift,
    WanPipeline(expand_timesteps=True)."""
    from diffusers import UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from transformers import AutoTokenizer

    mean, std = latent_stats(load_vae(work, smoke), work)
    vae = make_vae(dict(SMOKE_VAE if smoke else VAE_CFG, latents_mean=mean.tolist(), latents_std=std.tolist()))
    vae.load_state_dict(torch.load(work / "vae.pt", weights_only=False)["model"])
    trained = torch.load(work / final_dit_stage(work), weights_only=False)["model"]
    dit = WanTransformer3DModel(**dit_config(trained, smoke))
    dit.load_state_dict(trained)
    pipe = WanPipeline(tokenizer=AutoTokenizer.from_pretrained(str(DEMO / "tokenizer")),
                       text_encoder=text_model(work).eval(),
                       vae=vae.eval(), transformer=dit.eval(),
                       scheduler=UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                                         num_train_timesteps=1000, flow_shift=FLOW_SHIFT),
                       expand_timesteps=True)
    pipe.save_pretrained(str(dest), safe_serialization=True)
    import shutil
    shutil.copy(DEMO / "tokenizer" / "spiece.model", dest / "tokenizer" / "spiece.model")
    start = write_provenance(work, dest, smoke)
    write_examples(dest, start)
    print(f"exported {dest}")


def write_examples(dest: Path, start: str) -> None:
    """examples/: a held-out source frame for image-to-video (the demo's), its prompt and colour."""
    from PIL import Image

    spec = world.ClipSpec("circle", "blue", "up", "quickly", "grey", "static")
    assert world.held_out(spec.shape, spec.colour, spec.direction)
    (dest / "examples").mkdir(exist_ok=True)
    Image.fromarray(world.render(spec, seed=7, start=start)[0]).save(dest / "examples" / "source.png")
    (dest / "examples" / "source.txt").write_text(world.caption(spec) + "\n")
    (dest / "examples" / "source.colour").write_text(spec.colour + "\n")


def write_provenance(work: Path, dest: Path, smoke: bool) -> str:
    """provenance.json (what made these weights: the scripts' hashes, the data seed, each stage's
    steps, final losses and world, library versions) and loss_curve.png beside the weights. Returns
    where the final DiT's world starts its objects (the world the model is to be tested in)."""
    import hashlib
    import platform

    import diffusers
    import transformers

    here = Path(__file__).resolve().parent
    stages = {}
    prior_path = work / "prior_provenance.json"  # --seed-from: the logs of the seeded stages
    prior = json.loads(prior_path.read_text())["stages"] if prior_path.exists() else {}
    for name in ("text", "vae", "dit", "tune"):
        if not (work / f"{name}.pt").exists():
            continue
        saved = torch.load(work / f"{name}.pt", weights_only=False)
        log = np.array(saved["log"])
        if len(log) == 0 and name in prior:
            # Models exported before the world had a choice of start were trained with "leaving".
            stages[name] = dict({"start": "leaving"}, **prior[name], seeded_from=saved.get("seeded_from"))
            continue
        stages[name] = {"steps": saved["step"], "loss_first_100": float(log[:100, 1].mean()),
                        "loss_last_100": float(log[-100:, 1].mean()), "start": saved.get("start", "leaving")}
        if "recipe" in saved:
            stages[name]["recipe"] = saved["recipe"]
        if name in ("dit", "tune"):
            stages[name]["config"] = dit_config(saved["model"], smoke)
    stages["vae"]["config"] = SMOKE_VAE if smoke else VAE_CFG
    provenance = {
        "made_by": "scripts/train/train.py (see scripts/train/README.md to reproduce)",
        "scripts_sha256": {f.name: hashlib.sha256(f.read_bytes()).hexdigest()
                           for f in (here / "train.py", here / "synthetic_world.py")},
        "data_seed": DATA_SEED, "flow_shift": FLOW_SHIFT,
        "clip": {"width": world.WIDTH, "height": world.HEIGHT, "frames": world.FRAMES, "fps": world.FPS},
        "world": {"start": stages[final_dit_stage(work)[:-3]]["start"]},
        "stages": stages,
        "text_encoder": ("the demo model's umT5 (models/rayvid-tiny-ti2v) after the text stage, frozen after it"
                         if "text" in stages else "the demo model's random umT5 (models/rayvid-tiny-ti2v), frozen"),
        "tokenizer": "the demo model's (models/rayvid-tiny-ti2v)",
        "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__,
                     "transformers": transformers.__version__, "python": platform.python_version()},
    }
    (dest / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    v, d = stages["vae"], stages["dit"]
    tune = stages.get("tune")
    tuned = "" if tune is None else (
        f"\n  Then {tune['steps']} steps of the tune stage ({tune['config']['num_layers']} layers, world start "
        f"`{tune['start']}`, recipe {json.dumps(tune.get('recipe', {}))}; loss {tune['loss_first_100']:.3f} -> "
        f"{tune['loss_last_100']:.3f}).")
    layers = (tune or d)["config"]["num_layers"]
    where_objects_start = {
        "anywhere": "Objects start anywhere their path\nstays in view (world start `anywhere`).",
        "leaving": "Objects start on the side their motion\nleaves from (world start `leaving`): the first "
                   "frame gives the direction away.",
        "mixed": "Objects start as in `leaving` in half the\nclips and `anywhere` in the other half (world "
                 "start `mixed`)."}[provenance["world"]["start"]]
    text = stages.get("text")
    text_note = ("the random-weight umT5 and tokenizer of `models/rayvid-tiny-ti2v`,\n  frozen: the DiT "
                 "learned to read its embeddings." if text is None else
                 f"the umT5 of `models/rayvid-tiny-ti2v` trained {text['steps']} steps so that\n  every token "
                 "of a caption carries its shape, colour, direction, speed, background and camera\n  (loss "
                 f"{text['loss_first_100']:.3f} -> {text['loss_last_100']:.3f}), then frozen; the tokenizer is "
                 "the demo's.")
    (dest / "README.md").write_text(f"""# rayvid-world: a tiny Wan-architecture model trained on a synthetic world

Made by `scripts/train/train.py` (see `scripts/train/README.md`): coloured shapes (circle, square,
triangle; red, green, blue, yellow, purple, orange) moving left, right, up or down, slowly or
quickly, over grey, black, white or textured backgrounds, under a static camera, pans and zooms;
{world.WIDTH}x{world.HEIGHT}, {world.FRAMES} frames at {world.FPS} fps. {where_objects_start} One colour x shape x
direction combination in five is held out of training (`synthetic_world.held_out`); the semantic
tests ask for those.

- `vae/`: AutoencoderKLWan (Wan2.2 residual layout, patch 2, 8x8 spatial, 4x temporal, z 16),
  {v['steps']} steps (loss {v['loss_first_100']:.3f} -> {v['loss_last_100']:.3f}, first and last 100 steps).
- `transformer/`: WanTransformer3DModel, {layers} layers, dim 128, flow matching (shift {FLOW_SHIFT}),
  {d['steps']} steps (loss {d['loss_first_100']:.3f} -> {d['loss_last_100']:.3f}); Wan2.2 TI2V style: one
  model for text-to-video and image-to-video (`expand_timesteps`).{tuned}
- `text_encoder/`, `tokenizer/`: {text_note}
- `provenance.json`: script hashes, data seed, steps, losses, library versions;
  `loss_curve.png`: both stages' losses. `examples/`: a held-out source frame for image-to-video.

Generate at its native size: `rayvid generate --model models/rayvid-world --width {world.WIDTH}
--height {world.HEIGHT} --frames {world.FRAMES} --fps {world.FPS} --steps 16 --prompt "a purple
triangle moves quickly to the right on a grey background"`. Prompts outside this world's
vocabulary give this world's clips anyway.
""")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    logged = [n for n in ("text", "vae", "dit", "tune")
              if (work / f"{n}.pt").exists() and torch.load(work / f"{n}.pt", weights_only=False)["log"]]
    fig, axes = plt.subplots(1, len(logged), figsize=(4.5 * len(logged), 3.2), squeeze=False)
    for ax, name in zip(axes[0], logged):
        log = np.array(torch.load(work / f"{name}.pt", weights_only=False)["log"])
        window = max(1, min(50, len(log) // 10))
        smooth = np.convolve(log[:, 1], np.ones(window) / window, mode="valid")
        ax.plot(log[:, 0], log[:, 1], alpha=0.25, lw=0.5)
        ax.plot(log[window - 1:, 0], smooth, lw=1.2)
        ax.set_title({"text": "umT5: attributes per token (CE)", "vae": "VAE: L1 + MSE",
                      "dit": "DiT: flow-matching MSE",
                      "tune": "DiT text-to-video: weighted MSE"}[name])
        ax.set_xlabel("step")
        ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(dest / "loss_curve.png", dpi=80)
    plt.close(fig)
    return provenance["world"]["start"]


def main() -> None:
    global START
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--stage", choices=("text", "vae", "dit", "tune"))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--vae-frames", type=int, default=9, help="clip length for the VAE stage (4n+1)")
    ap.add_argument("--minutes", type=float, default=0)
    ap.add_argument("--stop-at", type=int, default=0,
                    help="stop at this step, with the learning-rate schedule of --steps")
    ap.add_argument("--save-every", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--smoke", action="store_true", help="tiny models, for the test")
    ap.add_argument("--export", type=Path)
    ap.add_argument("--layers", type=int, default=DIT_CFG["num_layers"], help="tune: blocks after growing")
    ap.add_argument("--object-weight", type=float,
                    help="dit, tune: extra weight of the latent cells that cover an object (default 0; "
                         "tune 8, or 0 with --latent-cache)")
    ap.add_argument("--latent-cache", type=int, default=0, metavar="CLIPS",
                    help="dit, tune: train on this many pre-encoded clips (built once, resumable) instead of "
                         "encoding fresh ones every step; recorded per stage")
    ap.add_argument("--padding", choices=("silent", "learned"),
                    help="dit: the prompt's zero padding rows get no key or value (silent), or learned "
                         "biases as any Wan (learned: the committed model's recipe); recorded per stage")
    ap.add_argument("--lr", type=float, help="text, tune: peak learning rate (1e-3, 1e-4)")
    ap.add_argument("--i2v-fraction", type=float, help="tune: share of image-to-video clips (default 0.25; "
                                                        "the dit stage's is 0.5)")
    ap.add_argument("--seed-from", type=Path, help="an exported model folder to continue from (tune)")
    ap.add_argument("--start", choices=world.STARTS,
                    help=f"where the world's objects start (synthetic_world.STARTS, default {START}; recorded "
                         "per stage, and a stage resumes only in its own)")
    args = ap.parse_args()
    if args.start and not args.stage:
        ap.error("--start applies to --stage vae|dit|tune (an export takes each stage's own)")
    if args.padding and args.stage != "dit":
        ap.error("--padding applies to --stage dit (the tune stage keeps the dit stage's)")
    if args.object_weight is not None and args.stage not in ("dit", "tune"):
        ap.error("--object-weight applies to --stage dit|tune")
    if args.latent_cache < 0 or 0 < args.latent_cache < args.batch:
        ap.error(f"--latent-cache {args.latent_cache}: give at least --batch ({args.batch}) clips, or 0 for none")
    if args.i2v_fraction is not None and (args.stage != "tune" or not 0 <= args.i2v_fraction <= 1):
        ap.error("--i2v-fraction applies to --stage tune, between 0 and 1")
    if args.latent_cache and args.stage not in ("dit", "tune"):
        ap.error("--latent-cache applies to --stage dit|tune")
    if args.latent_cache and args.object_weight:
        ap.error("--latent-cache keeps latents, not the pixels --object-weight finds objects in: give one")
    START = args.start or START
    torch.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.seed_from:
        seed_from(args.work, args.seed_from)
    if args.export:
        export(args.work, args.export, args.smoke)
    elif args.stage == "text":
        train_text(args.work, args)
    elif args.stage == "vae":
        train_vae(args.work, args)
    elif args.stage == "dit":
        train_dit(args.work, args)
    elif args.stage == "tune":
        tune_dit(args.work, args)
    elif not args.seed_from:
        ap.error("give --stage text|vae|dit|tune, --export DIR or --seed-from DIR")


if __name__ == "__main__":
    main()
