"""The diffusers counterpart of `rayvid bench --arch`: the same Wan architecture with random weights
(same drawing scheme as rayvid's RandomWeightSource: weights N(0, 1/fan_in), norm scales 1 + N(0, 0.1),
biases N(0, 0.05), other vectors N(0, 0.1)), run through diffusers' own WanPipeline loop with
classifier-free guidance (prompt embeddings given, so no text encoder), UniPC, the same shape, then
one AutoencoderKLWan decode of the final latents, timed the same way:

  * step seconds from callback_on_step_end timestamps, the first `--warmup` steps left out;
  * the VAE decode alone (vae.decode of the un-normalised latents, as the pipeline calls it);
  * peak RSS of the process.

Text-to-video variants only (wan2.1-1.3b, wan2.1-14b, wan2.2-5b, wan2.2-a14b one expert); the last
line is JSON for run.sh.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import time

import torch

DIT = {
    "wan2.1-1.3b": dict(num_attention_heads=12, ffn_dim=8960, num_layers=30, in_channels=16, out_channels=16),
    "wan2.1-14b": dict(num_attention_heads=40, ffn_dim=13824, num_layers=40, in_channels=16, out_channels=16),
    "wan2.2-5b": dict(num_attention_heads=24, ffn_dim=14336, num_layers=30, in_channels=48, out_channels=48),
    "wan2.2-a14b": dict(num_attention_heads=40, ffn_dim=13824, num_layers=40, in_channels=16, out_channels=16),
}
# The Wan2.2 VAE (TI2V-5B's vae/config.json); the others use AutoencoderKLWan's defaults (Wan2.1).
VAE22 = dict(base_dim=160, decoder_base_dim=256, z_dim=48, is_residual=True, in_channels=12, out_channels=12,
             patch_size=2, scale_factor_spatial=16,
             latents_mean=[0.0] * 48, latents_std=[1.0] * 48)


def fill_random(model: torch.nn.Module, seed: int, dtype: torch.dtype, keep_fp32: set[str]) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            t = torch.randn(p.shape, generator=g)
            if "norm" in name and name.endswith((".weight", ".gamma")) and p.numel() == p.shape[0]:
                t = t * 0.1 + 1
            elif p.ndim >= 2 and p.numel() // p.shape[0] > 1 and "scale_shift_table" not in name:
                t /= math.sqrt(p.numel() // p.shape[0])
            else:
                t *= 0.05 if name.endswith(".bias") else 0.1
            kept = any(k in name.split(".") for k in keep_fp32)
            p.data = t.to(torch.float32 if kept else dtype)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="wan2.1-1.3b", choices=sorted(DIT))
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--width", type=int, default=480)
    ap.add_argument("--height", type=int, default=272)
    ap.add_argument("--frames", type=int, default=17)
    ap.add_argument("--steps", type=int, default=3, help="timed steps")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps before them")
    ap.add_argument("--no-guidance", action="store_true")
    ap.add_argument("--no-decode", action="store_true")
    args = ap.parse_args()

    import diffusers
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel

    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    start = time.perf_counter()
    dit = WanTransformer3DModel(patch_size=(1, 2, 2), attention_head_dim=128, text_dim=4096, freq_dim=256,
                                cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6,
                                rope_max_seq_len=1024, **DIT[args.arch]).eval()
    fill_random(dit, 0, dtype, set(WanTransformer3DModel._keep_in_fp32_modules))
    build_s = time.perf_counter() - start
    vae = AutoencoderKLWan(**(VAE22 if args.arch == "wan2.2-5b" else {})).eval()
    fill_random(vae, 2, torch.float32, set())  # the VAE in fp32 on the CPU, as rayvid runs it
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                        num_train_timesteps=1000, flow_shift=5.0)
    pipe = WanPipeline(tokenizer=None, text_encoder=None, vae=vae, scheduler=scheduler, transformer=dit)
    pipe.set_progress_bar_config(disable=True)

    g = torch.Generator().manual_seed(1)
    text = torch.randn(1, 512, 4096, generator=g) * 0.1
    negative = torch.randn(1, 512, 4096, generator=g) * 0.1
    stamps: list[float] = []

    def on_step(pipeline, i, t, kwargs):
        stamps.append(time.perf_counter())
        return kwargs

    guidance = 1.0 if args.no_guidance else 5.0
    total_steps = args.warmup + args.steps
    print(f"diffusers {diffusers.__version__}: {args.arch} {args.dtype} {args.width}x{args.height}x{args.frames}, "
          f"{total_steps} steps ({args.warmup} warm-up), guidance {guidance}, {torch.get_num_threads()} threads",
          flush=True)
    with torch.inference_mode():
        begin = time.perf_counter()
        latents = pipe(prompt_embeds=text, negative_prompt_embeds=None if args.no_guidance else negative,
                       height=args.height, width=args.width, num_frames=args.frames,
                       num_inference_steps=total_steps, guidance_scale=guidance, output_type="latent",
                       generator=torch.Generator().manual_seed(0), callback_on_step_end=on_step).frames
        steps = [b - a for a, b in zip([begin] + stamps[:-1], stamps)][args.warmup:]
        decode_s = 0.0
        video_shape: list[int] = []
        if not args.no_decode:
            mean = torch.tensor(vae.config.latents_mean).view(1, vae.config.z_dim, 1, 1, 1)
            inv_std = 1.0 / torch.tensor(vae.config.latents_std).view(1, vae.config.z_dim, 1, 1, 1)
            z = latents.float() / inv_std + mean
            start = time.perf_counter()
            video = vae.decode(z, return_dict=False)[0]
            decode_s = time.perf_counter() - start
            video_shape = list(video.shape)
    steps_sorted = sorted(steps)
    median = steps_sorted[len(steps) // 2] if len(steps) % 2 else sum(steps_sorted[len(steps) // 2 - 1:][:2]) / 2
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"denoise {median:.3f} s/step (median of {len(steps)}: {', '.join(f'{s:.3f}' for s in steps)}), "
          f"VAE decode {decode_s:.3f} s to {video_shape}, weights {build_s:.1f} s, peak RSS {peak / 2**30:.2f} GiB")
    print("RESULT " + json.dumps({"impl": "diffusers", "arch": args.arch, "dtype": args.dtype,
                                  "threads": torch.get_num_threads(), "step_seconds": steps,
                                  "step_median_seconds": median, "vae_decode_seconds": decode_s,
                                  "build_seconds": build_s, "peak_memory_bytes": peak}))


if __name__ == "__main__":
    main()
