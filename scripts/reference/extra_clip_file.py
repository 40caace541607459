"""Single-file CLIP fixtures (tests/models/clip/clip_single_file_test.cpp): a tiny CLIP vision tower
with ViT-H/14's head width (80) written as ComfyUI ships clip_vision_h (transformers'
CLIPVisionModelWithProjection names, one safetensors file, no config), in fp32 and fp16, with
transformers' penultimate hidden state (what Wan's I2V pipelines condition on) for each form's
weights; and a file in open_clip's layout, which rayvid names and refuses.

Writes <out>/golden_extra/clip_file/: files/<form>.safetensors, manifest.json + golden.safetensors
(pixel_values, and out.<form>: hidden_states[-2]).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from extra_wan_dit import Golden, cli, randn, reinit_

EXTRA = "golden_extra/clip_file"
# ViT-H/14's head width (80) and exact GELU, in two heads and three layers to stay tiny.
CONFIG = dict(hidden_size=160, intermediate_size=64, num_hidden_layers=3, num_attention_heads=2,
              image_size=56, patch_size=14, projection_dim=32, hidden_act="gelu", layer_norm_eps=1e-5)


def make(out_dir: Path) -> None:
    torch.set_num_threads(1)
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    root = out_dir / EXTRA
    shutil.rmtree(root, ignore_errors=True)
    (root / "files").mkdir(parents=True)
    model = CLIPVisionModelWithProjection(CLIPVisionConfig(**CONFIG)).eval()
    reinit_(model, "clip_file")
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    sd = {k: v for k, v in sd.items() if not k.endswith("position_ids")}  # a buffer, not saved

    golden = Golden()
    pixels = randn("clip_file/pixel_values", 1, 3, 56, 56)
    golden.add("golden.safetensors", "pixel_values", pixels)
    cases = []
    for form, dtype in (("comfy_fp32", torch.float32), ("comfy_fp16", torch.float16)):
        tensors = {k: v.to(dtype) for k, v in sd.items()}
        save_file(tensors, str(root / "files" / f"{form}.safetensors"))
        model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
        with torch.no_grad():
            h = model(pixel_values=pixels, output_hidden_states=True).hidden_states[-2]
        golden.add("golden.safetensors", f"out.{form}", h)
        cases.append({"form": form, "file": f"files/{form}.safetensors"})
    # open_clip's layout (Wan's own checkpoint names the tower `visual.*`): refused, named.
    save_file({"visual.transformer.resblocks.0.ln_1.weight": torch.ones(160),
               "visual.conv1.weight": torch.zeros(160, 3, 14, 14)},
              str(root / "files" / "open_clip_layout.safetensors"))
    golden.write(root, "clip_file", "a tiny CLIP vision tower as ComfyUI-style single files "
                 "(scripts/reference/extra_clip_file.py)", "extra_clip_file.py",
                 params={"config": CONFIG}, cases=cases)


if __name__ == "__main__":
    cli(make, __doc__)
