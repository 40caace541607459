"""Extra goldens for the Wan VAE (issue 6): diffusers' *tiled* encode/decode on the tiny VAEs.

make(out_dir) reads the tiny models written by make_fixtures.py (<out>/models/wan21_t2v/vae and
<out>/models/wan22_ti2v/vae) and writes <out>/golden_extra/wan_vae/{vae_tiled.safetensors,
manifest.json} (manifest schema of scripts/reference/README.md). Deterministic: inputs come from
generators seeded by crc32 of their names; torch runs single-threaded.

Cases (tile sizes in the reference's units: tile_sample_min / tile_sample_stride, pixels):
  vae21 decode latent [1,16,3,10,12] (96x80 px), tiles 32 / 24   -> 4x4 latent tiles, stride 3
  vae21 encode video  [1,3,5,80,96],             tiles 32 / 24
  vae22 decode latent [1,48,2,5,6]  (96x80 px), tiles 32 / 16    -> 2x2 latent tiles, stride 1
  vae22 encode video  [1,3,5,96,128],            tiles 32 / 16    (patchified pixels, as diffusers)
Each case stores the tiled and the untiled reference output, so a test can check both the
tiled path and the tiled-vs-untiled difference.

    .venv/bin/python scripts/reference/extra_wan_vae.py --out tests/fixtures/generated
"""

from __future__ import annotations

import argparse
import json
import os
import zlib
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

COMPONENT = "wan_vae"

CASES = [
    # name, model dir, kind, input shape, (tile_min, tile_stride)
    ("vae21.decode_tiled", "models/wan21_t2v/vae", "decode", (1, 16, 3, 10, 12), (32, 24)),
    ("vae21.encode_tiled", "models/wan21_t2v/vae", "encode", (1, 3, 5, 80, 96), (32, 24)),
    ("vae22.decode_tiled", "models/wan22_ti2v/vae", "decode", (1, 48, 2, 5, 6), (32, 16)),
    ("vae22.encode_tiled", "models/wan22_ti2v/vae", "encode", (1, 3, 5, 96, 128), (32, 16)),
]


def _gen(name: str) -> torch.Generator:
    g = torch.Generator("cpu")
    g.manual_seed(zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF)
    return g


def _video(name: str, shape) -> torch.Tensor:
    """Smooth moving pattern + a little noise in [-1, 1] (as ref_goldens.make_clip_video)."""
    _, _, f, h, w = shape
    t = torch.arange(f, dtype=torch.float32).view(1, 1, f, 1, 1)
    y = torch.linspace(0, 1, h).view(1, 1, 1, h, 1)
    x = torch.linspace(0, 1, w).view(1, 1, 1, 1, w)
    c = torch.arange(3, dtype=torch.float32).view(1, 3, 1, 1, 1)
    v = 0.7 * torch.sin(6.0 * x + 4.0 * y + 0.5 * t + 2.0 * c) * torch.cos(3.0 * y - 0.3 * t + c)
    v = v + 0.05 * torch.randn(shape, generator=_gen(name))
    return v.clamp(-1, 1)


def make(out_dir: Path) -> None:
    from diffusers import AutoencoderKLWan

    torch.set_num_threads(1)
    out_dir = Path(out_dir)
    dest = out_dir / "golden_extra" / COMPONENT
    dest.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    cases = []
    for name, model_dir, kind, shape, (tile, stride) in CASES:
        vae = AutoencoderKLWan.from_pretrained(str(out_dir / model_dir)).eval()
        x = _video(name, shape) if kind == "encode" else torch.randn(shape, generator=_gen(name))
        with torch.no_grad():
            vae.disable_tiling()
            untiled = vae.encode(x).latent_dist.mean if kind == "encode" else vae.decode(x).sample
            vae.enable_tiling(tile_sample_min_height=tile, tile_sample_min_width=tile,
                              tile_sample_stride_height=stride, tile_sample_stride_width=stride)
            tiled = vae.encode(x).latent_dist.mean if kind == "encode" else vae.decode(x).sample
        tensors[f"{name}.input"] = x.contiguous()
        tensors[f"{name}.tiled"] = tiled.contiguous()
        tensors[f"{name}.untiled"] = untiled.contiguous()
        cases.append({"name": name, "kind": f"vae_{kind}_tiled", "file": "vae_tiled.safetensors",
                      "inputs": {"x" if kind == "encode" else "z": f"{name}.input"},
                      "outputs": {"tiled": f"{name}.tiled", "untiled": f"{name}.untiled"},
                      "params": {"model_dir": model_dir, "tile_sample_min": tile,
                                 "tile_sample_stride": stride, "overlap": tile - stride}})
    save_file(tensors, str(dest / "vae_tiled.safetensors"), metadata={"format": "pt"})
    import diffusers

    manifest = {
        "schema_version": 1,
        "family": COMPONENT,
        "description": "AutoencoderKLWan enable_tiling() encode/decode on the tiny VAEs, with the "
                       "untiled outputs of the same inputs (raw I/O, no latents_mean/std)",
        "generator": {"script": "scripts/reference/extra_wan_vae.py", "torch": torch.__version__.split("+")[0],
                      "diffusers": diffusers.__version__, "threads": 1},
        "params": {},
        "files": [{"file": "vae_tiled.safetensors",
                   "tensors": [{"name": k, "shape": list(v.shape), "dtype": "float32"}
                               for k, v in sorted(tensors.items())]}],
        "cases": cases,
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/generated"))
    make(parser.parse_args().out)
