"""Single-file Wan VAE fixtures (tests/models/wan_vae/wan_vae_single_file_test.cpp): the harness's
tiny Wan2.1 VAE written in the original Wan layout (`encoder.downsamples.N.residual.0.gamma`,
`decoder.upsamples.N`, `middle`, `head`, top-level `conv1`/`conv2`, as ComfyUI's
wan_2.1_vae.safetensors has it), in fp32 and bf16, and the tiny Wan2.2 VAE (z 48, residual
stages, patch 2) in Wan2.2's original layout (vae2_2.py: each stage one Down_/Up_ResidualBlock
whose Sequential `downsamples` / `upsamples` holds the resnets and then the resample, as
wan2.2_vae.safetensors has it), in fp32 and fp16; with diffusers' decode and encode on each
form's weights. The Wan2.1 names are certified by diffusers' convert_wan_vae_to_diffusers (it must
map them back to exactly the folder's tensors); diffusers ships no Wan2.2 VAE converter in the
package, so the Wan2.2 names are checked against the module tree vae2_2.py builds from the config
(every stage's resnets at 0..n-1, its resample at n, nothing else).

Needs <out>/models/wan21_i2v and wan22_ti2v (make_fixtures.py writes them first). Writes
<out>/golden_extra/vae_file/: files/<form>.safetensors, manifest.json + golden.safetensors
(latent, video, latent22, video22, and per form decode.<form> and encode.<form>).
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


def to_original_22(name: str) -> str:
    """Wan2.2's original name (vae2_2.py) of a diffusers AutoencoderKLWan(is_residual) tensor."""
    if m := re.match(r"^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$", name):
        return f"encoder.downsamples.{m[1]}.downsamples.{m[2]}.{_RES[m[3]]}"
    if m := re.match(r"^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$", name):
        return f"decoder.upsamples.{m[1]}.upsamples.{m[2]}.{_RES[m[3]]}"
    if re.match(r"^(encoder\.down_blocks\.\d+\.downsampler|decoder\.up_blocks\.\d+\.upsampler)\.", name):
        raise ValueError("resamples need their stage's resnet count")  # handled in originals_22
    return to_original(name, 0)


def originals_22(sd: dict, cfg) -> dict:
    """The state dict under Wan2.2's original names, checked against vae2_2.py's module tree."""
    out, stage_resnets = {}, {}
    for k in sd:
        if m := re.match(r"^(encoder\.down_blocks|decoder\.up_blocks)\.(\d+)\.resnets\.(\d+)\.", k):
            key = (m[1], int(m[2]))
            stage_resnets[key] = max(stage_resnets.get(key, 0), int(m[3]) + 1)
    for k, v in sd.items():
        m = re.match(r"^(encoder\.down_blocks|decoder\.up_blocks)\.(\d+)\.(downsampler|upsampler)\.(.+)$", k)
        if m:
            side = "encoder.downsamples" if m[1].startswith("encoder") else "decoder.upsamples"
            inner = "downsamples" if m[1].startswith("encoder") else "upsamples"
            out[f"{side}.{m[2]}.{inner}.{stage_resnets[(m[1], int(m[2]))]}.{m[4]}"] = v
        else:
            out[to_original_22(k)] = v
    # vae2_2.py: Encoder3d stages hold num_res_blocks resnets, Decoder3d stages num_res_blocks + 1,
    # every stage but the last ends in a Resample at the next index.
    stages = len(cfg.dim_mult)
    for (side, stage), n in stage_resnets.items():
        assert n == cfg.num_res_blocks + (side.startswith("decoder")), (side, stage, n)
    for side, inner in (("encoder.downsamples", "downsamples"), ("decoder.upsamples", "upsamples")):
        for stage in range(stages):
            n = cfg.num_res_blocks + (side.startswith("decoder"))
            resample = any(k.startswith(f"{side}.{stage}.{inner}.{n}.resample.") for k in out)
            assert resample == (stage < stages - 1), (side, stage)
    assert len(out) == len(sd)
    return out


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

    folder22 = out_dir / "models" / "wan22_ti2v" / "vae"
    vae22 = AutoencoderKLWan.from_pretrained(str(folder22)).eval()
    assert vae22.config.is_residual
    orig22 = originals_22({k: v.detach().clone() for k, v in vae22.state_dict().items()}, vae22.config)
    latent22 = randn("vae_file.latent22", 1, vae22.config.z_dim, 2, 3, 4)
    video22 = randn("vae_file.video22", 1, 3, 5, 48, 64).clamp(-1, 1)
    golden.add("golden.safetensors", "latent22", latent22)
    golden.add("golden.safetensors", "video22", video22)
    for form, dtype in (("orig22_fp32", torch.float32), ("orig22_fp16", torch.float16)):
        tensors = {k: v.to(dtype).contiguous() for k, v in orig22.items()}
        save_file(tensors, str(root / "files" / f"{form}.safetensors"))
        m = AutoencoderKLWan.from_pretrained(str(folder22)).eval()
        m.load_state_dict({k: v.to(dtype).float() for k, v in vae22.state_dict().items()})
        with torch.no_grad():
            golden.add("golden.safetensors", f"decode.{form}", m.decode(latent22).sample)
            golden.add("golden.safetensors", f"encode.{form}", m.encode(video22).latent_dist.mean)
        cases.append({"form": form, "file": f"files/{form}.safetensors"})
    golden.write(root, "vae_file", "the tiny Wan2.1 and Wan2.2 VAEs as original-layout single files "
                 "(scripts/reference/extra_vae_file.py)", "extra_vae_file.py", cases=cases)


if __name__ == "__main__":
    cli(make, __doc__)
