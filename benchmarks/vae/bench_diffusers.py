"""diffusers AutoencoderKLWan decode: wall time and peak RSS, the twin of bench_wan_vae.cpp.

    bench_diffusers.py VAE_DIR T H W [fp32|bf16] [TILE] [OVERLAP]   -> one JSON line

Same protocol: a small warm-up decode pages the weights in, then the peak RSS (VmHWM) is reset
and one decode of a N(0,1) latent is measured.
"""

import json
import sys
import time

import torch
from diffusers import AutoencoderKLWan


def kib(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def main():
    vae_dir, t, h, w = sys.argv[1], *map(int, sys.argv[2:5])
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[sys.argv[5] if len(sys.argv) > 5 else "fp32"]
    tile = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    overlap = int(sys.argv[7]) if len(sys.argv) > 7 else tile // 4
    vae = AutoencoderKLWan.from_pretrained(vae_dir, dtype=dtype).eval()
    if tile:
        vae.enable_tiling(tile, tile, tile - overlap, tile - overlap)
    z = vae.config.z_dim
    with torch.inference_mode():
        vae.decode(torch.randn(1, z, 2, 2, 2, dtype=dtype))
        latent = torch.randn(1, z, t, h, w, generator=torch.Generator().manual_seed(0)).to(dtype)
        open("/proc/self/clear_refs", "w").write("5")
        base = kib("VmRSS")
        start = time.perf_counter()
        video = vae.decode(latent).sample
        seconds = time.perf_counter() - start
        peak = kib("VmHWM")
    print(json.dumps({"impl": "diffusers", "dtype": sys.argv[5] if len(sys.argv) > 5 else "fp32",
                      "latent": [z, t, h, w], "video": list(video.shape[2:]), "tile": tile,
                      "overlap": overlap if tile else 0, "threads": torch.get_num_threads(),
                      "seconds": round(seconds, 3), "baseline_rss": base, "peak_rss": peak,
                      "measured": peak - base}))


if __name__ == "__main__":
    main()
