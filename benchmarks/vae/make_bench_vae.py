"""Writes a VAE folder with the REAL Wan2.1 architecture (126.9M parameters) and random weights,
for benchmarks/vae (the real weights are not downloadable here; speed and memory do not depend
on the values). Deterministic (seed 0). Usage: make_bench_vae.py OUT_DIR
"""

import sys

import torch
from diffusers import AutoencoderKLWan

torch.manual_seed(0)
vae = AutoencoderKLWan()  # diffusers defaults = the Wan2.1 VAE config
with torch.no_grad():
    for name, p in vae.named_parameters():
        if p.ndim >= 2:
            p.normal_(0.0, (1.0 / p[0].numel()) ** 0.5)
vae.save_pretrained(sys.argv[1])
