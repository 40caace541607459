"""Reference fixtures for LoRA on the Wan DiT (tests/models/wan_dit/lora_test.cpp): one LoRA file
per key format users download, made for the tiny family DiTs, and the DiT's output with each
loaded by diffusers. Deterministic, single-threaded, CPU; a few seconds. Needs <out>/models/<family>/
(make_fixtures.py writes them first). Writes <out>/golden_extra/lora/:
  <case>.safetensors    the LoRA file
  golden.safetensors    the DiT inputs per family and, per case, the fp32 output of the DiT with
                        the LoRA applied at the case's strength
  manifest.json         cases: file, family, component, strength, format, expect ("ok",
                        "unmatched": a key that names nothing, "skipped": image-branch keys on a T2V
                        DiT), and the keys diffusers drops but rayvid applies

How the goldens are made: diffusers' own loader, WanPipeline.load_lora_weights(file,
adapter_name=...) + set_adapters(name, strength) (load_into_transformer_2=True for the second
expert), then one forward. Formats diffusers does not read get the equivalent dict it does read:
LyCORIS = the kohya keys with the lycoris_ prefix; rs-LoRA (PEFT names under base_model.model.,
no alpha) = the original-format dict with alpha = r * r // sqrt(r) (WanVideoWrapper's
compensate_rs_lora_format). Full deltas that diffusers' converter drops (.diff of norms, .diff_m
of modulation tables; it assumes them zero) are added to the loaded model's parameters by hand,
strength * delta, as ComfyUI and LightX2V apply them.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file

from extra_wan_dit import cli, Golden, _inputs, randn

EXTRA = "golden_extra/lora"
SIZE = (3, 6, 10)  # latent T, H, W: 3 x 3 x 5 = 45 tokens
TIMESTEP = [700, 300]
RANK = 4


def _lin(cfg: dict, name: str) -> tuple[int, int]:
    """(out, in) of a block linear, original Wan name."""
    dim, ffn = cfg["num_attention_heads"] * cfg["attention_head_dim"], cfg["ffn_dim"]
    if name == "ffn.0":
        return ffn, dim
    if name == "ffn.2":
        return dim, ffn
    if name in ("cross_attn.k_img", "cross_attn.v_img"):
        return dim, cfg["added_kv_proj_dim"]
    return dim, dim


BLOCK_LINEARS = [f"{a}.{p}" for a in ("self_attn", "cross_attn") for p in "qkvo"] + ["ffn.0", "ffn.2"]


def _pair(tag: str, out: int, inp: int, rank: int = RANK) -> tuple[torch.Tensor, torch.Tensor]:
    return randn(tag + ".down", rank, inp) * 0.3, randn(tag + ".up", out, rank) * 0.3


def _original_dict(cfg: dict, tag: str, image_branch: bool, with_diffs: bool) -> dict[str, torch.Tensor]:
    """diffusion_model.* keys: lora_down/up + alpha for every block linear; with_diffs adds the
    lightx2v full deltas (diff_b, norm .diff, modulation .diff_m, head.head.diff + diff_b)."""
    d: dict[str, torch.Tensor] = {}
    names = BLOCK_LINEARS + (["cross_attn.k_img", "cross_attn.v_img"] if image_branch else [])
    for i in range(cfg["num_layers"]):
        for n in names:
            out, inp = _lin(cfg, n)
            down, up = _pair(f"{tag}.{i}.{n}", out, inp)
            d[f"diffusion_model.blocks.{i}.{n}.lora_down.weight"] = down
            d[f"diffusion_model.blocks.{i}.{n}.lora_up.weight"] = up
            d[f"diffusion_model.blocks.{i}.{n}.alpha"] = torch.tensor(float(2 * RANK if i == 0 else RANK // 2))
            if with_diffs and n in ("self_attn.q", "ffn.2"):
                d[f"diffusion_model.blocks.{i}.{n}.diff_b"] = randn(f"{tag}.{i}.{n}.diff_b", out) * 0.1
    if with_diffs:
        dim = cfg["num_attention_heads"] * cfg["attention_head_dim"]
        out_dim = cfg["out_channels"] * math.prod(cfg["patch_size"])
        d["diffusion_model.blocks.0.norm3.diff"] = randn(f"{tag}.norm3.diff", dim) * 0.1
        d["diffusion_model.blocks.0.norm3.diff_b"] = randn(f"{tag}.norm3.diff_b", dim) * 0.1
        d["diffusion_model.blocks.1.diff_m"] = randn(f"{tag}.diff_m", 1, 6, dim) * 0.05
        d["diffusion_model.head.head.diff"] = randn(f"{tag}.head.diff", out_dim, dim) * 0.05
        d["diffusion_model.head.head.diff_b"] = randn(f"{tag}.head.diff_b", out_dim) * 0.05
    return d


def _kohya_dict(cfg: dict, tag: str, prefix: str) -> dict[str, torch.Tensor]:
    d: dict[str, torch.Tensor] = {}
    for i in range(cfg["num_layers"]):
        for n in BLOCK_LINEARS:
            out, inp = _lin(cfg, n)
            down, up = _pair(f"{tag}.{i}.{n}", out, inp)
            key = f"{prefix}blocks_{i}_{n.replace('.', '_')}"
            d[f"{key}.lora_down.weight"] = down
            d[f"{key}.lora_up.weight"] = up
            d[f"{key}.alpha"] = torch.tensor(float(RANK * 3))
    return d


def _diffusers_dict(cfg: dict, tag: str) -> dict[str, torch.Tensor]:
    """transformer.* PEFT keys on diffusers names, with lora_B.bias on some; scaled by the
    lora_adapter_metadata (lora_alpha 8, r 4)."""
    names = {"self_attn.q": "attn1.to_q", "self_attn.v": "attn1.to_v", "cross_attn.k": "attn2.to_k",
             "cross_attn.o": "attn2.to_out.0", "ffn.0": "ffn.net.0.proj"}
    d: dict[str, torch.Tensor] = {}
    for i in range(cfg["num_layers"]):
        for orig, diff in names.items():
            out, inp = _lin(cfg, orig)
            down, up = _pair(f"{tag}.{i}.{orig}", out, inp)
            d[f"transformer.blocks.{i}.{diff}.lora_A.weight"] = down
            d[f"transformer.blocks.{i}.{diff}.lora_B.weight"] = up
            if orig == "cross_attn.o":
                d[f"transformer.blocks.{i}.{diff}.lora_B.bias"] = randn(f"{tag}.{i}.bias", out) * 0.1
    return d


DIFFUSERS_METADATA = {"lora_adapter_metadata": json.dumps(
    {"transformer.r": RANK, "transformer.lora_alpha": 2 * RANK, "transformer.lora_bias": True,
     "transformer.target_modules": ["to_q", "to_v", "to_k", "to_out.0", "net.0.proj"]},
    indent=2, sort_keys=True)}


def _rs_dict(cfg: dict, tag: str) -> dict[str, torch.Tensor]:
    d: dict[str, torch.Tensor] = {}
    for i in range(cfg["num_layers"]):
        for n in ("self_attn.k", "cross_attn.k", "cross_attn.v", "ffn.2"):
            out, inp = _lin(cfg, n)
            down, up = _pair(f"{tag}.{i}.{n}", out, inp)
            d[f"base_model.model.blocks.{i}.{n}.lora_A.weight"] = down
            d[f"base_model.model.blocks.{i}.{n}.lora_B.weight"] = up
    return d


def _rs_as_original(rs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    alpha = float(RANK * RANK // RANK ** 0.5)
    d = {}
    for k, v in rs.items():
        k = k.replace("base_model.model.", "diffusion_model.")
        d[k] = v
        if k.endswith(".lora_A.weight"):
            d[k.replace(".lora_A.weight", ".alpha")] = torch.tensor(alpha)
    return d


# Full deltas diffusers drops, as (file key without prefix, diffusers parameter).
DROPPED = {"blocks.0.norm3.diff": "blocks.0.norm2.weight", "blocks.0.norm3.diff_b": "blocks.0.norm2.bias",
           "blocks.1.diff_m": "blocks.1.scale_shift_table"}


def _forward(pipe, component: str, inputs: dict, family: str) -> torch.Tensor:
    model = getattr(pipe, component)
    kwargs = dict(hidden_states=inputs["hidden_states"], timestep=torch.tensor(TIMESTEP),
                  encoder_hidden_states=inputs["encoder_hidden_states"], return_dict=False)
    if "encoder_hidden_states_image" in inputs:
        kwargs["encoder_hidden_states_image"] = inputs["encoder_hidden_states_image"]
    with torch.no_grad():
        return model(**kwargs)[0]


def make(out_dir: Path) -> None:
    """Writes <out_dir>/golden_extra/lora/ (deterministic; replaces what was there)."""
    torch.set_num_threads(1)
    from diffusers import WanImageToVideoPipeline, WanPipeline

    root = out_dir / EXTRA
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    golden = Golden()
    gfile = "golden.safetensors"

    def load(family: str):
        cls = WanImageToVideoPipeline if family == "wan21_i2v" else WanPipeline
        pipe = cls.from_pretrained(str(out_dir / "models" / family))
        pipe.set_progress_bar_config(disable=True)
        return pipe

    configs, inputs = {}, {}
    for family in ("wan21_t2v", "wan21_i2v", "wan22_a14b"):
        with open(out_dir / "models" / family / "transformer" / "config.json", encoding="utf-8") as f:
            configs[family] = json.load(f)
        inputs[family] = _inputs(family, f"lora/{family}", configs[family], SIZE)
        for k, v in inputs[family].items():
            golden.add(gfile, f"{family}.{k}", v)
    t2v, i2v = configs["wan21_t2v"], configs["wan21_i2v"]

    # case: (file dict, metadata, family, component, strength, format, expect, diffusers' dict)
    cases = {
        "original": (_original_dict(t2v, "orig", False, True), None, "wan21_t2v", "transformer", 0.8, "original"),
        "kohya": (_kohya_dict(t2v, "kohya", "lora_unet_"), None, "wan21_t2v", "transformer", 1.0, "kohya"),
        "lycoris": (_kohya_dict(t2v, "lyco", "lycoris_"), None, "wan21_t2v", "transformer", 0.6, "lycoris"),
        "diffusers": (_diffusers_dict(t2v, "diff"), DIFFUSERS_METADATA, "wan21_t2v", "transformer", 1.3,
                      "diffusers"),
        "rslora": (_rs_dict(t2v, "rs"), None, "wan21_t2v", "transformer", 1.0, "rs-lora"),
        "i2v_on_i2v": (_original_dict(i2v, "i2v", True, False), None, "wan21_i2v", "transformer", 1.0,
                       "original"),
        "t2v_on_i2v": (_original_dict(t2v, "t2v_i2v", False, False), None, "wan21_i2v", "transformer", 0.9,
                       "original"),
        "a14b_low": (_original_dict(t2v, "low", False, False), None, "wan22_a14b", "transformer_2", 1.0,
                     "original"),
    }
    manifest_cases = []
    for name, (sd, metadata, family, component, strength, fmt) in cases.items():
        save_file(sd, str(root / f"{name}.safetensors"), metadata=metadata)
        # What diffusers is given: the file, or its equivalent in a format it reads.
        given = sd
        if name == "lycoris":
            given = {k.replace("lycoris_", "lora_unet_"): v for k, v in sd.items()}
        elif name == "rslora":
            given = _rs_as_original(sd)
        pipe = load(family)
        # low_cpu_mem_usage=False: with it, PEFT leaves the lora_B biases a file does not give
        # (lora_bias is on for every module once one has a diff_b) on the meta device.
        kwargs = {"low_cpu_mem_usage": False}
        if component == "transformer_2":
            kwargs["load_into_transformer_2"] = True
        if given is sd:
            pipe.load_lora_weights(str(root / f"{name}.safetensors"), adapter_name=name, **kwargs)
        else:
            pipe.load_lora_weights(dict(given), adapter_name=name, **kwargs)
        pipe.set_adapters([name], [strength])
        dropped = []
        with torch.no_grad():
            params = dict(getattr(pipe, component).named_parameters())
            for key, target in DROPPED.items():
                full = "diffusion_model." + key
                if full in sd:
                    p = params[f"{target}"] if target in params else params[f"{target}".replace(".weight", ".base_layer.weight")]
                    p.add_(strength * sd[full].reshape(p.shape))
                    dropped.append(full)
        out = _forward(pipe, component, inputs[family], family)
        manifest_cases.append({"name": name, "file": f"{name}.safetensors", "family": family,
                               "component": component, "strength": strength, "format": fmt,
                               "expect": "ok", "output": golden.add(gfile, f"{name}.output", out),
                               "applied_by_hand": dropped})

    # Failure cases (no goldens): an unknown key; an I2V LoRA on a T2V DiT (image keys skipped, the
    # rest applied: the golden is the t2v_on_i2v-style load of the same file without its image keys).
    bad = _kohya_dict(t2v, "bad", "lora_unet_")
    bad["lora_unet_blocks_0_self_attn_nonexistent.lora_down.weight"] = torch.zeros(RANK, 8)
    bad["lora_unet_blocks_0_self_attn_nonexistent.lora_up.weight"] = torch.zeros(8, RANK)
    save_file(bad, str(root / "unmatched.safetensors"))
    i2v_file = _original_dict(i2v, "i2v_t2v", True, False)
    save_file(i2v_file, str(root / "i2v_on_t2v.safetensors"))
    pipe = load("wan21_t2v")
    pipe.load_lora_weights({k: v for k, v in i2v_file.items() if "_img" not in k}, adapter_name="x")
    pipe.set_adapters(["x"], [1.0])
    out = _forward(pipe, "transformer", inputs["wan21_t2v"], "wan21_t2v")
    manifest_cases.append({"name": "i2v_on_t2v", "file": "i2v_on_t2v.safetensors", "family": "wan21_t2v",
                           "component": "transformer", "strength": 1.0, "format": "original",
                           "expect": "skipped", "output": golden.add(gfile, "i2v_on_t2v.output", out),
                           "skipped_keys": sum("_img" in k for k in i2v_file)})
    manifest_cases.append({"name": "unmatched", "file": "unmatched.safetensors", "family": "wan21_t2v",
                           "component": "transformer", "strength": 1.0, "format": "kohya",
                           "expect": "unmatched",
                           "unmatched_keys": sorted(k for k in bad if "nonexistent" in k)})
    golden.write(root, "lora", "LoRA files of every key format and the DiT outputs diffusers gives with "
                 "them (scripts/reference/extra_lora.py)", "scripts/reference/extra_lora.py",
                 params={"latent_size_TxHxW": list(SIZE), "timestep": TIMESTEP, "rank": RANK},
                 cases=manifest_cases)
    print(f"extra_lora: {len(manifest_cases)} cases in {root}")


def main() -> None:
    cli(make, __doc__)


if __name__ == "__main__":
    main()
