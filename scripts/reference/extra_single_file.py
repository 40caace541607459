"""Single-file checkpoint fixtures (tests/models/wan_dit/wan_dit_single_file_test.cpp): the same
tiny Wan2.1 I2V DiT written as a diffusers folder and as each single-file form users download,
with the fp8 forms quantized in PyTorch as their writers define them, and diffusers' output for
each form run with that form's dequantized weights.

Original-layout names are made here by one regex table and certified by diffusers' own
convert_wan_transformer_to_diffusers (it must map them back to exactly the folder's state dict).

Needs <out>/models/wan21_i2v (make_fixtures.py writes it first). Writes
<out>/golden_extra/single_file/:
  model/                        a Wan2.1 I2V diffusers folder with this DiT (fp32; the other
                                components are the harness's wan21_i2v ones)
  files/<form>.safetensors      one file per form (see FORMS)
  manifest.json + golden.safetensors
      inputs (hidden_states, timestep, encoder_hidden_states, encoder_hidden_states_image) and,
      per form, `out.<form>`: WanTransformer3DModel with the form's weights dequantized to fp32
      (fp8 value x scale, as ComfyUI and WanVideoWrapper compute it), fp32 forward.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import torch

from extra_wan_dit import SIZES, TINY, Golden, _inputs, cli, reinit_

EXTRA = "golden_extra/single_file"
FAMILY = "wan21_i2v"
PREFIX = "model.diffusion_model."
F8 = torch.float8_e4m3fn
F8_MAX = 448.0

# diffusers name -> original Wan name (first match wins); anything else keeps its name.
_RULES = [
    (r"^condition_embedder\.text_embedder\.linear_1\.", "text_embedding.0."),
    (r"^condition_embedder\.text_embedder\.linear_2\.", "text_embedding.2."),
    (r"^condition_embedder\.time_embedder\.linear_1\.", "time_embedding.0."),
    (r"^condition_embedder\.time_embedder\.linear_2\.", "time_embedding.2."),
    (r"^condition_embedder\.time_proj\.", "time_projection.1."),
    (r"^condition_embedder\.image_embedder\.norm1\.", "img_emb.proj.0."),
    (r"^condition_embedder\.image_embedder\.ff\.net\.0\.proj\.", "img_emb.proj.1."),
    (r"^condition_embedder\.image_embedder\.ff\.net\.2\.", "img_emb.proj.3."),
    (r"^condition_embedder\.image_embedder\.norm2\.", "img_emb.proj.4."),
    (r"^proj_out\.", "head.head."),
    (r"^scale_shift_table$", "head.modulation"),
    (r"^(blocks\.\d+)\.scale_shift_table$", r"\1.modulation"),
    (r"^(blocks\.\d+)\.attn1\.to_out\.0\.", r"\1.self_attn.o."),
    (r"^(blocks\.\d+)\.attn1\.to_(q|k|v)\.", r"\1.self_attn.\2."),
    (r"^(blocks\.\d+)\.attn1\.norm_(q|k)\.", r"\1.self_attn.norm_\2."),
    (r"^(blocks\.\d+)\.attn2\.to_out\.0\.", r"\1.cross_attn.o."),
    (r"^(blocks\.\d+)\.attn2\.to_(q|k|v)\.", r"\1.cross_attn.\2."),
    (r"^(blocks\.\d+)\.attn2\.norm_(q|k)\.", r"\1.cross_attn.norm_\2."),
    (r"^(blocks\.\d+)\.attn2\.add_k_proj\.", r"\1.cross_attn.k_img."),
    (r"^(blocks\.\d+)\.attn2\.add_v_proj\.", r"\1.cross_attn.v_img."),
    (r"^(blocks\.\d+)\.attn2\.norm_added_k\.", r"\1.cross_attn.norm_k_img."),
    (r"^(blocks\.\d+)\.norm2\.", r"\1.norm3."),  # the original order is norm1, norm3, norm2
    (r"^(blocks\.\d+)\.ffn\.net\.0\.proj\.", r"\1.ffn.0."),
    (r"^(blocks\.\d+)\.ffn\.net\.2\.", r"\1.ffn.2."),
]


def to_original(name: str) -> str:
    for pattern, repl in _RULES:
        if re.search(pattern, name):
            return re.sub(pattern, repl, name)
    return name


# WanVideoWrapper's params_to_keep: these stay in the base dtype; other 2-D weights are Linear
# weights and are quantized.
_KEEP = ("norm", "bias", "modulation", "patch_embedding", "time_", "text_embedding", "img_emb", "head")


def quantizable(orig_name: str, t: torch.Tensor) -> bool:
    return t.ndim == 2 and orig_name.endswith(".weight") and not any(k in orig_name for k in _KEEP)


def _rowwise_scale(w: torch.Tensor) -> torch.Tensor:
    return (w.abs().amax(dim=1).clamp(min=1e-12) / F8_MAX).float()


def forms(orig: dict[str, torch.Tensor]) -> dict[str, tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]]:
    """form -> (the file's tensors, the dequantized fp32 original-named weights it stands for)."""
    out = {}
    plain = lambda d, dtype, prefix="": ({prefix + k: v.to(dtype) for k, v in d.items()},  # noqa: E731
                                         {k: v.to(dtype).float() for k, v in d.items()})
    out["orig_fp32"] = plain(orig, torch.float32)
    out["comfy_bf16"] = plain(orig, torch.bfloat16, PREFIX)
    out["orig_fp16"] = plain(orig, torch.float16, "diffusion_model.")

    # Kijai's fp8_e4m3fn: Linear weights cast to fp8, no scales; the rest bf16.
    f, deq = {}, {}
    for k, v in orig.items():
        if quantizable(k, v):
            f[k] = v.to(F8)
            deq[k] = f[k].float()
        else:
            f[k] = v.to(torch.bfloat16)
            deq[k] = f[k].float()
    out["kijai_fp8_e4m3fn"] = (f, deq)

    # ComfyUI fp8_scaled (legacy): the marker, a per-tensor scale_weight (amax / 448), scale_input
    # on some layers (1.0, as ComfyUI writes it when the input is not scaled); the rest fp16.
    # The marker under the prefix, as ComfyUI saves it ({prefix}scaled_fp8).
    f, deq = {PREFIX + "scaled_fp8": torch.empty(0, dtype=F8)}, {}
    for i, (k, v) in enumerate(sorted(orig.items())):
        if quantizable(k, v):
            scale = (v.abs().max() / F8_MAX).float().reshape(())
            f[PREFIX + k] = (v / scale).to(F8)
            f[PREFIX + k[:-len("weight")] + "scale_weight"] = scale
            if i % 2 == 0:
                f[PREFIX + k[:-len("weight")] + "scale_input"] = torch.ones((), dtype=torch.float32)
            deq[k] = f[PREFIX + k].float() * scale
        else:
            f[PREFIX + k] = v.to(torch.float16)
            deq[k] = f[PREFIX + k].float()
    out["comfy_fp8_scaled"] = (f, deq)

    # ComfyUI mixed precision (current): weight_scale per output row, input_scale, comfy_quant JSON.
    f, deq = {}, {}
    quant = torch.tensor(list(json.dumps({"format": "float8_e4m3fn"}).encode()), dtype=torch.uint8)
    for k, v in orig.items():
        if quantizable(k, v):
            scale = _rowwise_scale(v)
            layer = k[:-len("weight")]
            f[k] = (v / scale[:, None]).to(F8)
            f[layer + "weight_scale"] = scale
            f[layer + "input_scale"] = torch.tensor(0.05, dtype=torch.float32)
            f[layer + "comfy_quant"] = quant.clone()
            deq[k] = f[k].float() * scale[:, None]
        else:
            f[k] = v.to(torch.bfloat16)
            deq[k] = f[k].float()
    out["comfy_fp8_mixed"] = (f, deq)
    return out


def make(out_dir: Path) -> None:
    torch.set_num_threads(1)
    from diffusers import WanTransformer3DModel
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

    root = out_dir / EXTRA
    shutil.rmtree(root, ignore_errors=True)
    (root / "files").mkdir(parents=True)
    # head_dim 128 as every released Wan DiT (single files carry no config: the head count is
    # dim / 128), in one head to stay tiny.
    cfg = dict(TINY[FAMILY]["transformer"], num_attention_heads=1, attention_head_dim=128, added_kv_proj_dim=128)
    model = WanTransformer3DModel(**cfg).eval()
    reinit_(model, "single_file/transformer")
    model.save_pretrained(str(root / "model" / "transformer"), safe_serialization=True)
    # The rest of a Wan2.1 I2V pipeline folder from the harness's tiny one (same text, image and
    # latent sizes), so the same model runs from the folder and from the DiT file + components.
    harness = out_dir / "models" / FAMILY
    for item in harness.iterdir():
        if item.name != "transformer":
            (shutil.copytree if item.is_dir() else shutil.copy)(item, root / "model" / item.name)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}

    orig = {to_original(k): v for k, v in sd.items()}
    back = convert_wan_transformer_to_diffusers({k: v.clone() for k, v in orig.items()})
    assert set(back) == set(sd) and all(torch.equal(back[k], sd[k]) for k in sd), \
        "the original names do not convert back to the folder's state dict"

    from safetensors.torch import save_file

    golden = Golden()
    inp = _inputs(FAMILY, "single_file", cfg, SIZES["size_b"])
    ts = torch.tensor(613.0).expand(2).contiguous()
    for k, v in inp.items():
        golden.add("golden.safetensors", k, v)
    golden.add("golden.safetensors", "timestep", ts)
    cases = []
    for form, (tensors, deq) in forms(orig).items():
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(root / "files" / f"{form}.safetensors"))
        m = WanTransformer3DModel(**cfg).eval()
        m.load_state_dict(convert_wan_transformer_to_diffusers(dict(deq)))
        with torch.no_grad():
            o = m(hidden_states=inp["hidden_states"], timestep=ts, encoder_hidden_states=inp["encoder_hidden_states"],
                  encoder_hidden_states_image=inp["encoder_hidden_states_image"], return_dict=False)[0]
        golden.add("golden.safetensors", f"out.{form}", o)
        cases.append({"form": form, "file": f"files/{form}.safetensors"})

    # `--weights fp8` on a checkpoint that is not fp8: the Linear weights quantized per output row
    # (as the mixed form), everything else as loaded (fp32 here).
    deq = {k: ((v / _rowwise_scale(v)[:, None]).to(F8).float() * _rowwise_scale(v)[:, None])
           if quantizable(k, v) else v for k, v in orig.items()}
    m = WanTransformer3DModel(**cfg).eval()
    m.load_state_dict(convert_wan_transformer_to_diffusers(deq))
    with torch.no_grad():
        o = m(hidden_states=inp["hidden_states"], timestep=ts, encoder_hidden_states=inp["encoder_hidden_states"],
              encoder_hidden_states_image=inp["encoder_hidden_states_image"], return_dict=False)[0]
    golden.add("golden.safetensors", "out.fp8_quantized_at_load", o)

    # Refused forms: a scaled file with one scale missing, and a layer in a format rayvid does not read.
    tensors, _ = forms(orig)["comfy_fp8_scaled"]
    missing = sorted(k for k in tensors if k.endswith(".scale_weight"))[0]
    save_file({k: v.contiguous() for k, v in tensors.items() if k != missing},
              str(root / "files" / "broken_missing_scale.safetensors"))
    tensors, _ = forms(orig)["comfy_fp8_mixed"]
    first = sorted(k for k in tensors if k.endswith(".comfy_quant"))[0]
    tensors = dict(tensors)
    tensors[first] = torch.tensor(list(json.dumps({"format": "nvfp4"}).encode()), dtype=torch.uint8)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(root / "files" / "refused_nvfp4.safetensors"))
    golden.write(root, "single_file", "one tiny Wan2.1 I2V DiT as a diffusers folder and as each single-file form "
                 "(scripts/reference/extra_single_file.py)", "extra_single_file.py",
                 params={"missing_scale": missing, "nvfp4_layer": first}, cases=cases)


if __name__ == "__main__":
    cli(make, __doc__)
