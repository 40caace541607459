"""Reference fixtures for the Wan DiT (WanTransformer3DModel): tiny checkpoints, golden forwards
and the tensor lists of the real variants. Self-contained (diffusers + torch only), deterministic,
single-threaded, CPU. scripts/test runs it with --out tests/fixtures/generated.

Complements the harness goldens (golden/<family>/dit_*.safetensors): adds FLF2V (image pos_embed),
TI2V timesteps that differ per batch row or per token, its own tiny checkpoints (for renaming tests)
and the FLF2V real architecture. Everything goes under <out>/golden_extra/wan_dit/:
  models/<family>/<component>/   tiny diffusers checkpoints (save_pretrained, fp32):
      wan21_t2v, wan21_i2v (CLIP image tokens), wan21_flf2v (image pos_embed), wan22_ti2v
      (per-token timesteps), wan22_a14b (transformer = high-noise expert, transformer_2 = low)
  manifest.json + <family>.safetensors
      one case per (family, component, latent size, timestep variant): inputs, the fp32 output
      and the bf16 output (model loaded with dtype=bfloat16, inputs cast to bf16; diffusers keeps
      its _keep_in_fp32_modules in fp32); the first timestep of each size also stores
      intermediates (debug.*). `model_dir` of a case is relative to <out>.
  meta_shapes/<variant>.json   {"config": transformer config.json of the real variant,
      "tensors": [{"name", "shape"}]} from WanTransformer3DModel built on the meta device.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import zlib
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

BF16 = torch.bfloat16
EXTRA = "golden_extra/wan_dit"

# ----------------------------------------------------------------------------------------------
# real variants (diffusers transformer/config.json of the Wan-AI/*-Diffusers repos)
# ----------------------------------------------------------------------------------------------

_COMMON = dict(patch_size=[1, 2, 2], attention_head_dim=128, text_dim=4096, freq_dim=256, cross_attn_norm=True,
               qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=None, added_kv_proj_dim=None,
               rope_max_seq_len=1024, pos_embed_seq_len=None)
_14B = dict(_COMMON, num_attention_heads=40, ffn_dim=13824, num_layers=40, in_channels=16, out_channels=16)
REAL_CONFIGS = {
    "wan2.1-t2v-1.3b": dict(_COMMON, num_attention_heads=12, ffn_dim=8960, num_layers=30, in_channels=16,
                            out_channels=16),
    "wan2.1-t2v-14b": _14B,
    "wan2.1-i2v-14b": dict(_14B, in_channels=36, image_dim=1280, added_kv_proj_dim=5120),
    "wan2.1-flf2v-14b": dict(_14B, in_channels=36, image_dim=1280, added_kv_proj_dim=5120, pos_embed_seq_len=514),
    "wan2.2-ti2v-5b": dict(_COMMON, num_attention_heads=24, ffn_dim=14336, num_layers=30, in_channels=48,
                           out_channels=48),
    "wan2.2-t2v-a14b": _14B,  # transformer and transformer_2 share this config
    "wan2.2-i2v-a14b": dict(_14B, in_channels=36),
    # Wan-AI/Wan2.1-VACE-{1.3B,14B}-diffusers (WanVACETransformer3DModel)
    "wan2.1-vace-1.3b": dict(_COMMON, num_attention_heads=12, ffn_dim=8960, num_layers=30, in_channels=16,
                             out_channels=16, vace_layers=list(range(0, 30, 2)), vace_in_channels=96),
    "wan2.1-vace-14b": dict(_14B, vace_layers=list(range(0, 40, 5)), vace_in_channels=96),
}

# ----------------------------------------------------------------------------------------------
# tiny families: heads 3 x head_dim 32 = 96 (RoPE split t/h/w = 12/10/10), 2 layers
# ----------------------------------------------------------------------------------------------

TEXT_DIM = 64
IMAGE_DIM = 48
IMAGE_TOKENS = 17
_TINY = dict(patch_size=[1, 2, 2], num_attention_heads=3, attention_head_dim=32, in_channels=16, out_channels=16,
             text_dim=TEXT_DIM, freq_dim=256, ffn_dim=192, num_layers=2, cross_attn_norm=True,
             qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=None, added_kv_proj_dim=None,
             rope_max_seq_len=1024, pos_embed_seq_len=None)
TINY = {
    "wan21_t2v": {"transformer": _TINY},
    "wan21_i2v": {"transformer": dict(_TINY, in_channels=36, image_dim=IMAGE_DIM, added_kv_proj_dim=96)},
    "wan21_flf2v": {"transformer": dict(_TINY, in_channels=36, image_dim=IMAGE_DIM, added_kv_proj_dim=96,
                                        pos_embed_seq_len=2 * IMAGE_TOKENS)},
    "wan22_ti2v": {"transformer": dict(_TINY, in_channels=48, out_channels=48)},
    "wan22_a14b": {"transformer": _TINY, "transformer_2": _TINY},
}

SIZES = {"size_a": (3, 6, 10), "size_b": (2, 8, 4)}  # latent (T, H, W): 45 and 16 tokens, not square
TIMESTEPS = [999, 613, 37]
MIXED = [881, 245]
CTX_LENS = (9, 1)  # true prompt lengths of the cond / uncond rows; rows beyond are exactly 0


def seed_of(name: str) -> int:
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def randn(name: str, *shape: int) -> torch.Tensor:
    g = torch.Generator("cpu")
    g.manual_seed(seed_of(name))
    return torch.randn(*shape, generator=g, dtype=torch.float32)


def reinit_(module: torch.nn.Module, name: str) -> None:
    """Redraw every parameter so each one matters: norm scales N(1, 0.1^2), biases N(0, 0.05^2),
    modulation tables N(0, 0.1^2), image pos_embed N(0, 0.5^2), weights N(0, 1/fan_in)."""
    g = torch.Generator("cpu")
    g.manual_seed(seed_of("reinit/" + name))
    with torch.no_grad():
        for pname, p in sorted(module.named_parameters(), key=lambda kv: kv[0]):
            leaf = pname.rsplit(".", 1)[-1]
            mean, std = 0.0, 0.1
            if "norm" in pname and leaf == "weight":
                mean, std = 1.0, 0.1
            elif leaf == "bias":
                std = 0.05
            elif leaf == "scale_shift_table":
                std = 0.1
            elif leaf == "pos_embed":
                std = 0.5
            elif p.ndim >= 2:
                std = 1.0 / math.sqrt(int(math.prod(p.shape[1:])))
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float32) * std + mean)


# ----------------------------------------------------------------------------------------------
# goldens
# ----------------------------------------------------------------------------------------------

class Golden:
    def __init__(self) -> None:
        self.files: dict[str, dict[str, torch.Tensor]] = {}
        self.cases: list[dict] = []

    def add(self, file: str, name: str, t: torch.Tensor) -> str:
        t = t.detach().cpu()
        if t.is_floating_point():
            t = t.float()
        bucket = self.files.setdefault(file, {})
        assert name not in bucket, name
        bucket[name] = t.contiguous().clone()
        return name

    def write(self, root: Path, family: str, description: str, script: str,
              params: dict | None = None, cases: list | None = None) -> None:
        """The safetensors files and manifest.json of an extra golden folder (schema 1)."""
        import diffusers

        for fname, tensors in self.files.items():
            save_file(tensors, str(root / fname), metadata={"format": "pt"})
        manifest = {"schema_version": 1, "family": family, "description": description,
                    "generator": {"script": script, "torch": torch.__version__.split("+")[0],
                                  "diffusers": diffusers.__version__, "threads": 1}}
        if params is not None:
            manifest["params"] = params
        manifest["cases"] = self.cases if cases is None else cases
        with open(root / "manifest.json", "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
            f.write("\n")


def cli(make, doc: str) -> None:
    """The command line of an extra_*.py script: --out DIR, then make(DIR)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    make(ap.parse_args().out)


def _inputs(family: str, prefix: str, cfg: dict, size: tuple[int, int, int]) -> dict[str, torch.Tensor]:
    T, H, W = size
    x = randn(prefix + ".hidden_states", 2, cfg["in_channels"], T, H, W)
    if cfg["in_channels"] == 36:  # I2V: channels 16..19 hold the first-frame mask (latent frame 0 = 1)
        x[:, 16:20] = 0
        x[:, 16:20, 0] = 1
    ctx = randn(prefix + ".ctx", 2, 512, cfg["text_dim"])
    for b, n in enumerate(CTX_LENS):
        ctx[b, n:] = 0
    inp = {"hidden_states": x, "encoder_hidden_states": ctx}
    if cfg["image_dim"]:
        # FLF2V: first and last frame, [2B, 17, image_dim] (the model views it as [B, 34, image_dim])
        rows = 4 if cfg["pos_embed_seq_len"] else 2
        inp["encoder_hidden_states_image"] = randn(prefix + ".ctx_img", rows, IMAGE_TOKENS, cfg["image_dim"])
    return inp


def _timestep_variants(family: str, size: tuple[int, int, int]) -> list[tuple[str, torch.Tensor, str]]:
    T, H, W = size
    hp, wp = H // 2, W // 2
    out = []
    if family == "wan22_ti2v":
        for t in TIMESTEPS:
            # the TI2V pipeline's expand_timesteps: first latent frame (the clean image) gets t = 0
            mask = torch.ones(T, hp, wp)
            mask[0] = 0
            out.append((f"t{t}.i2v_tokens", (mask * t).flatten().expand(2, -1).contiguous(),
                        "per token, first latent frame 0"))
            out.append((f"t{t}.t2v_tokens", torch.full((2, T * hp * wp), float(t)), "per token, all t"))
        frames = torch.tensor([[0.0] + [700.0] * (T - 1), [0.0] + [300.0] * (T - 1)])
        out.append(("per_frame_batch", frames[:, :, None].expand(2, T, hp * wp).reshape(2, -1).contiguous(),
                    "per token, constant per latent frame, different per batch row"))
        tok = torch.randint(0, 1000, (2, T * hp * wp), generator=torch.Generator().manual_seed(7)).float()
        out.append(("per_token_random", tok, "per token, every token its own t"))
    else:
        for t in TIMESTEPS:
            out.append((f"t{t}", torch.tensor(t).expand(2).contiguous(), "one t for the batch"))
        out.append(("tmixed", torch.tensor(MIXED), "one t per batch row"))
    return out


def _hooks(model, store: dict) -> list:
    def rec(name):
        def hook(mod, args, out):
            store[name] = (out[0] if isinstance(out, tuple) else out).detach().clone()
        return hook

    def rec_cond(mod, args, out):
        store["temb"], store["timestep_proj"], store["context"] = (o.detach().clone() for o in out[:3])
        if out[3] is not None:
            store["context_image"] = out[3].detach().clone()

    hs = [model.patch_embedding.register_forward_hook(rec("patch_embedding")),
          model.condition_embedder.register_forward_hook(rec_cond)]
    hs += [blk.register_forward_hook(rec(f"blocks.{i}")) for i, blk in enumerate(model.blocks)]
    return hs


def make_family(out: Path, golden: Golden, family: str) -> None:
    from diffusers import WanTransformer3DModel

    folder = out / EXTRA / "models" / family
    file = f"{family}.safetensors"
    for comp, cfg in TINY[family].items():
        model = WanTransformer3DModel(**cfg).eval()
        reinit_(model, f"{family}/{comp}")
        model.save_pretrained(str(folder / comp), safe_serialization=True)
        m32 = WanTransformer3DModel.from_pretrained(str(folder / comp)).eval()
        m16 = WanTransformer3DModel.from_pretrained(str(folder / comp), dtype=BF16).eval()
        for size_name, size in SIZES.items():
            base = f"{comp}.{size_name}"
            inp = _inputs(family, f"{family}/{base}", cfg, size)
            for k, v in inp.items():
                golden.add(file, f"{base}.{k}", v)
            for i, (vname, ts, mode) in enumerate(_timestep_variants(family, size)):
                name = f"{base}.{vname}"
                debug: dict = {}
                hooks = _hooks(m32, debug) if i == 0 else []
                with torch.no_grad():
                    o32 = m32(hidden_states=inp["hidden_states"], timestep=ts,
                              encoder_hidden_states=inp["encoder_hidden_states"],
                              encoder_hidden_states_image=inp.get("encoder_hidden_states_image"),
                              return_dict=False)[0]
                    img = inp.get("encoder_hidden_states_image")
                    o16 = m16(hidden_states=inp["hidden_states"].to(BF16), timestep=ts,
                              encoder_hidden_states=inp["encoder_hidden_states"].to(BF16),
                              encoder_hidden_states_image=None if img is None else img.to(BF16),
                              return_dict=False)[0]
                for h in hooks:
                    h.remove()
                outputs = {"output": golden.add(file, f"{name}.output", o32),
                           "output_bf16": golden.add(file, f"{name}.output_bf16", o16)}
                for k, v in debug.items():
                    outputs[f"debug.{k}"] = golden.add(file, f"{name}.debug.{k}", v)
                inputs = {k: f"{base}.{k}" for k in inp}
                inputs["timestep"] = golden.add(file, f"{name}.timestep", ts)
                golden.cases.append({
                    "name": f"{family}/{name}", "kind": "dit_forward", "file": file,
                    "model_dir": f"{EXTRA}/models/{family}/{comp}", "inputs": inputs, "outputs": outputs,
                    "params": {"family": family, "component": comp, "latent_size_TxHxW": list(size),
                               "timestep_mode": mode, "batch": 2, "context_true_lens": list(CTX_LENS)}})


def make_meta_shapes(out: Path) -> None:
    from diffusers import WanTransformer3DModel, WanVACETransformer3DModel

    folder = out / EXTRA / "meta_shapes"
    folder.mkdir(parents=True, exist_ok=True)
    for variant, cfg in REAL_CONFIGS.items():
        cls = WanVACETransformer3DModel if "vace_layers" in cfg else WanTransformer3DModel
        with torch.device("meta"):
            model = cls(**cfg)
        tensors = [{"name": k, "shape": list(v.shape)} for k, v in model.state_dict().items()]
        config = dict(model.config)
        config = {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.items() if not k.startswith("_")}
        config["_class_name"] = cls.__name__
        with open(folder / f"{variant}.json", "w", encoding="utf-8") as f:
            json.dump({"variant": variant, "config": config, "tensors": tensors}, f, indent=1)
            f.write("\n")


def make(out_dir: Path) -> None:
    """Writes <out_dir>/golden_extra/wan_dit/ (deterministic; replaces what was there)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    import diffusers

    root = out_dir / EXTRA
    shutil.rmtree(root, ignore_errors=True)
    make_meta_shapes(out_dir)
    golden = Golden()
    for family in TINY:
        make_family(out_dir, golden, family)
    for fname, tensors in golden.files.items():
        save_file(tensors, str(root / fname), metadata={"format": "pt"})
    manifest = {
        "schema_version": 1, "family": "wan_dit",
        "description": "WanTransformer3DModel forwards of the tiny Wan families (scripts/reference/extra_wan_dit.py)",
        "generator": {"script": "scripts/reference/extra_wan_dit.py", "torch": torch.__version__.split("+")[0],
                      "diffusers": diffusers.__version__, "threads": 1},
        "params": {"sizes": {k: list(v) for k, v in SIZES.items()}, "timesteps": TIMESTEPS, "mixed": MIXED,
                   "bf16": "WanTransformer3DModel.from_pretrained(dtype=bfloat16), floating inputs cast to bf16",
                   "debug": "first timestep variant of each size: patch_embedding [B,dim,T,H/2,W/2], temb, "
                            "timestep_proj, context (text embedder output), context_image, blocks.i [B,L,dim]"},
        "cases": golden.cases,
    }
    with open(root / "manifest.json", "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"extra_wan_dit: {len(golden.cases)} DiT cases, {len(REAL_CONFIGS)} meta-shape lists in {root}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    make(ap.parse_args().out)


if __name__ == "__main__":
    main()
