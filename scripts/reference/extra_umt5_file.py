"""Single-file umT5 fixtures (tests/models/umt5/umt5_single_file_test.cpp): the harness's tiny
Wan2.1 text encoder written as ComfyUI writes umT5 files (HF T5 names, one safetensors file, the
SentencePiece model embedded as a `spiece_model` uint8 tensor), in fp32 and in ComfyUI's
fp8_scaled form (the `scaled_fp8` marker, per-tensor `scale_weight`, norms and the embedding kept
in fp16), with UMT5EncoderModel's output on each form's dequantized weights.

Needs <out>/models/wan21_i2v (make_fixtures.py writes it first). Writes
<out>/golden_extra/umt5_file/: files/<form>.safetensors, manifest.json + golden.safetensors
(input_ids, attention_mask, and out.<form>: last_hidden_state).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from extra_wan_dit import Golden, cli

EXTRA = "golden_extra/umt5_file"
F8 = torch.float8_e4m3fn


def make(out_dir: Path) -> None:
    torch.set_num_threads(1)
    from safetensors.torch import load_file, save_file
    from transformers import AutoTokenizer, UMT5EncoderModel

    root = out_dir / EXTRA
    shutil.rmtree(root, ignore_errors=True)
    (root / "files").mkdir(parents=True)
    folder = out_dir / "models" / "wan21_i2v"
    sd = load_file(str(folder / "text_encoder" / "model.safetensors"))
    spiece = torch.frombuffer(bytearray((folder / "tokenizer" / "spiece.model").read_bytes()), dtype=torch.uint8)

    forms = {"comfy_fp32": ({**sd, "spiece_model": spiece}, dict(sd))}
    f8, deq = {"scaled_fp8": torch.empty(0, dtype=F8), "spiece_model": spiece}, {}
    for k, v in sd.items():
        if v.ndim == 2 and k.endswith(".weight") and "relative_attention_bias" not in k and k != "shared.weight":
            scale = (v.abs().max() / 448.0).float().reshape(())
            f8[k] = (v / scale).to(F8)
            f8[k[:-len("weight")] + "scale_weight"] = scale
            deq[k] = f8[k].float() * scale
        else:
            f8[k] = v.to(torch.float16)
            deq[k] = f8[k].float()
    forms["comfy_fp8_scaled"] = (f8, deq)

    tok = AutoTokenizer.from_pretrained(str(folder / "tokenizer"))
    t = tok(["a red fox runs through fresh snow", "ein Fuchs"], padding="max_length", max_length=16,
            truncation=True, return_tensors="pt")
    golden = Golden()
    golden.add("golden.safetensors", "input_ids", t.input_ids)
    golden.add("golden.safetensors", "attention_mask", t.attention_mask)
    cases = []
    for form, (tensors, weights) in forms.items():
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(root / "files" / f"{form}.safetensors"))
        model = UMT5EncoderModel.from_pretrained(str(folder / "text_encoder")).eval()
        model.load_state_dict(weights, strict=False)  # tied encoder.embed_tokens follows shared
        with torch.no_grad():
            h = model(input_ids=t.input_ids, attention_mask=t.attention_mask).last_hidden_state
        golden.add("golden.safetensors", f"out.{form}", h)
        cases.append({"form": form, "file": f"files/{form}.safetensors"})
    golden.write(root, "umt5_file", "the tiny umT5 as ComfyUI-style single files (scripts/reference/extra_umt5_file.py)",
                 "extra_umt5_file.py", params={"tokenizer": "models/wan21_i2v/tokenizer"}, cases=cases)


if __name__ == "__main__":
    cli(make, __doc__)
