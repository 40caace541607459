"""Single-file Wan VAE fixtures (tests/models/wan_vae/wan_vae_single_file_test.cpp): the harness's
tiny Wan2.1 VAE written in the original Wan layout (`encoder.downsamples.N.residual.0.gamma`,
`decoder.upsamples.N`, `middle`, `head`, top-level `conv1`/`conv2`, as ComfyUI's
wan_2.1_vae.safetensors has it), in fp32 and bf16, with diffusers' decode and encode on each
form's weights. The original names are made here by one rename function and certified by
diffusers' convert_wan_vae_to_diffusers (it must map them back to exactly the folder's tensors).

Needs <out>/models/wan21_i2v (make_fixtures.py writes it first). Writes
<out>/golden_extra/vae_file/: files/<form>.safetensors, manifest.json + golden.safetensors
(latent, video, and per form decode.<form> and encode.<form>).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import torch

from extra_wan_dit import Golden, cli, randn

EXTRA = "golden_extra/vae_file"

_RES = {"norm1.gamma": "residual.0.gamma", "conv1.weight": "residual.2.weight", "conv1.bias": "residual.2.bias",
        "norm2.gamma": "residual.3.gamma", "conv2.weight": "residual.6.weight", "conv2.bias": "residual.6.bias",
        "conv_shortcut.weight": "shortcut.weight", "conv_shortcut.bias": "shortcut.bias"}


def to_original(name: str, decoder_resnets: int) -> str:
    fixed = {"quant_conv": "conv1", "post_quant_conv": "conv2", "encoder.conv_in": "encoder.conv1",
             "decoder.conv_in": "decoder.conv1", "encoder.norm_out": "encoder.head.0",
             "encoder.conv_out": "encoder.head.2", "decoder.norm_out": "decoder.head.0",
             "decoder.conv_out": "decoder.head.2"}
    module, leaf = name.rsplit(".", 1)
    if module in fixed:
        return f"{fixed[module]}.{leaf}"
    if m := re.match(r"^(encoder|decoder)\.mid_block\.attentions\.0\.(.+)$", name):
        return f"{m[1]}.middle.1.{m[2]}"
    if m := re.match(r"^(encoder|decoder)\.mid_block\.resnets\.(\d)\.(.+)$", name):
        return f"{m[1]}.middle.{2 * int(m[2])}.{_RES[m[3]]}"
    if m := re.match(r"^encoder\.down_blocks\.(\d+)\.(.+)$", name):
        return f"encoder.downsamples.{m[1]}.{_RES.get(m[2], m[2])}"
    if m := re.match(r"^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$", name):
        return f"decoder.upsamples.{int(m[1]) * (decoder_resnets + 1) + int(m[2])}.{_RES[m[3]]}"
    if m := re.match(r"^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.(.+)$", name):
        return f"decoder.upsamples.{int(m[1]) * (decoder_resnets + 1) + decoder_resnets}.{m[2]}"
    raise ValueError(f"no original name for {name}")


def make(out_dir: Path) -> None:
    torch.set_num_threads(1)
    from diffusers import AutoencoderKLWan
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers
    from safetensors.torch import save_file

    root = out_dir / EXTRA
    shutil.rmtree(root, ignore_errors=True)
    (root / "files").mkdir(parents=True)
    folder = out_dir / "models" / "wan21_i2v" / "vae"
    vae = AutoencoderKLWan.from_pretrained(str(folder)).eval()
    sd = {k: v.detach().clone() for k, v in vae.state_dict().items()}
    orig = {to_original(k, vae.config.num_res_blocks + 1): v for k, v in sd.items()}
    back = convert_wan_vae_to_diffusers({k: v.clone() for k, v in orig.items()})
    assert set(back) == set(sd) and all(torch.equal(back[k], sd[k]) for k in sd), \
        "the original names do not convert back to the folder's state dict"

    golden = Golden()
    latent = randn("vae_file.latent", 1, vae.config.z_dim, 2, 4, 6)
    video = randn("vae_file.video", 1, 3, 5, 32, 48).clamp(-1, 1)
    golden.add("golden.safetensors", "latent", latent)
    golden.add("golden.safetensors", "video", video)
    cases = []
    for form, dtype in (("orig_fp32", torch.float32), ("orig_bf16", torch.bfloat16)):
        tensors = {k: v.to(dtype).contiguous() for k, v in orig.items()}
        save_file(tensors, str(root / "files" / f"{form}.safetensors"))
        m = AutoencoderKLWan.from_pretrained(str(folder)).eval()
        m.load_state_dict(convert_wan_vae_to_diffusers({k: v.float() for k, v in tensors.items()}))
        with torch.no_grad():
            golden.add("golden.safetensors", f"decode.{form}", m.decode(latent).sample)
            golden.add("golden.safetensors", f"encode.{form}", m.encode(video).latent_dist.mean)
        cases.append({"form": form, "file": f"files/{form}.safetensors"})
    golden.write(root, "vae_file", "the tiny Wan2.1 VAE as original-layout single files "
                 "(scripts/reference/extra_vae_file.py)", "extra_vae_file.py", cases=cases)


if __name__ == "__main__":
    cli(make, __doc__)
