"""One diffusers WanTransformer3DModel forward, the counterpart of bench_dit (same architecture,
same random-weight scheme, same inputs' shapes, same threads), on the CPU.

Measures the forward as a diffusers pipeline step runs it (text embedding and cross-attention
K/V inside the forward, as diffusers has no prompt cache), and memory: RSS with the weights,
the peak RSS of the forward alone (VmHWM reset just before it), the process peak. bf16 keeps
diffusers' _keep_in_fp32_modules in fp32, as from_pretrained(torch_dtype=bfloat16) does.
The last line is JSON for run.sh.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

PRESETS = {
    "wan2.1-t2v-1.3b": dict(num_attention_heads=12, ffn_dim=8960, num_layers=30, in_channels=16, out_channels=16),
    "wan2.2-ti2v-5b": dict(num_attention_heads=24, ffn_dim=14336, num_layers=30, in_channels=48, out_channels=48),
}


def status_mib(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preset", default="wan2.1-t2v-1.3b", choices=sorted(PRESETS))
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--frames", type=int, default=17)
    ap.add_argument("--height", type=int, default=272)
    ap.add_argument("--width", type=int, default=480)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    import diffusers
    from diffusers import WanTransformer3DModel
    from diffusers.models.transformers.transformer_wan import WanRotaryPosEmbed

    cfg = dict(patch_size=(1, 2, 2), attention_head_dim=128, text_dim=4096, freq_dim=256, cross_attn_norm=True,
               qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024, **PRESETS[args.preset])
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    T, h, w = (args.frames - 1) // 4 + 1, args.height // 8, args.width // 8
    tokens = T * (h // 2) * (w // 2)
    print(f"diffusers {diffusers.__version__} bench: {args.preset}, {args.dtype}, latent {cfg['in_channels']}x{T}x{h}x{w}"
          f" -> {tokens} tokens, batch {args.batch}, {torch.get_num_threads()} threads")

    start = time.perf_counter()
    with torch.device("meta"):
        model = WanTransformer3DModel(**cfg)
    model = model.to_empty(device="cpu").eval()
    # to_empty() leaves the RoPE tables uninitialised: rebuild them on the CPU.
    model.rope = WanRotaryPosEmbed(cfg["attention_head_dim"], cfg["patch_size"], cfg["rope_max_seq_len"])
    g = torch.Generator().manual_seed(0)
    keep = set(WanTransformer3DModel._keep_in_fp32_modules)
    with torch.no_grad():
        for name, p in model.named_parameters():
            t = torch.randn(p.shape, generator=g)
            if p.ndim >= 2 and "scale_shift_table" not in name:
                t /= math.sqrt(math.prod(p.shape[1:]))
            elif "norm" in name and name.endswith(".weight"):
                t = t * 0.1 + 1
            else:
                t *= 0.05 if name.endswith(".bias") else 0.1
            kept = any(k in name.split(".") for k in keep)
            p.data = t.to(torch.float32 if kept else dtype)
    init_s = time.perf_counter() - start

    g = torch.Generator().manual_seed(1)
    latents = torch.randn(args.batch, cfg["in_channels"], T, h, w, generator=g).to(dtype)
    text = torch.randn(args.batch, 512, 4096, generator=g).to(dtype)
    timestep = torch.full((args.batch,), 500, dtype=torch.long)
    rss_weights = status_mib("VmRSS")
    setup_peak = status_mib("VmHWM")

    best, forward_peak = float("inf"), 0.0
    for i in range(args.repeat):
        reset_peak_rss()
        start = time.perf_counter()
        with torch.inference_mode():
            out = model(hidden_states=latents, timestep=timestep, encoder_hidden_states=text, return_dict=False)[0]
        best = min(best, time.perf_counter() - start)
        forward_peak = max(forward_peak, status_mib("VmHWM"))
        if i == 0:
            print(f"output {list(out.shape)} mean {out.float().mean():.4f} std {out.float().std():.4f}")
        del out
    print(f"init (random weights) {init_s:.1f} s, forward {best:.2f} s (includes the prompt's K/V)")
    print(f"RSS with weights {rss_weights:.0f} MiB, peak during forward {forward_peak:.0f} MiB "
          f"(+{forward_peak - rss_weights:.0f}), process peak {max(setup_peak, forward_peak):.0f} MiB")
    print("RESULT " + json.dumps({"impl": "diffusers", "dtype": args.dtype, "tokens": tokens, "batch": args.batch,
                                  "threads": torch.get_num_threads(), "forward_s": round(best, 3),
                                  "rss_weights_mib": round(rss_weights), "rss_ready_mib": round(rss_weights),
                                  "forward_peak_mib": round(forward_peak),
                                  "process_peak_mib": round(max(setup_peak, forward_peak))}))


if __name__ == "__main__":
    main()
