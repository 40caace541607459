"""Encoder micro-benchmark, reference side (transformers), and the maker of the benchmark models.

  bench_encoders.py make DIR      mid-size random-weight models in DIR (see CONFIGS), a test image
                                  and reference outputs (ref_outputs.safetensors) for a sanity check
  bench_encoders.py run DIR OUT   time transformers on them exactly as the Wan pipelines call them,
                                  write OUT (JSON)
  bench_encoders.py report DIR    RESULTS.md table from DIR/{python,cpp}.json

Configs: umT5 at the real XXL width (d_model 4096, 64 heads x 64, d_ff 10240) with 2 layers, and
the CLIP ViT-H/14 tower (1280 wide, 16 heads, mlp 5120, 224 px / patch 14) with 4 layers; random
weights. BENCH_DTYPES=fp32,bf16 adds bf16 (slow on CPUs without bf16 units).
The vocabulary is the tiny test tokenizer's (1024 rows instead of 256384: an embedding lookup costs
nothing, and the 4 GB fp32 table would not fit next to four colleagues' jobs).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TOKENIZER = REPO / "tests" / "fixtures" / "generated" / "models" / "wan21_t2v" / "tokenizer"
UMT5 = dict(vocab_size=1024, d_model=4096, d_kv=64, num_heads=64, d_ff=10240, num_layers=2,
            num_decoder_layers=2, relative_attention_num_buckets=32, relative_attention_max_distance=128,
            feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-6, tie_word_embeddings=True,
            scalable_attention=True, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
CLIP = dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=4, num_attention_heads=16,
            num_channels=3, image_size=224, patch_size=14, projection_dim=1024, hidden_act="gelu",
            layer_norm_eps=1e-5)
PROC = dict(do_resize=True, size={"shortest_edge": 224}, resample=3, do_center_crop=True,
            crop_size={"height": 224, "width": 224}, do_rescale=True, rescale_factor=1 / 255,
            do_normalize=True, image_mean=[0.48145466, 0.4578275, 0.40821073],
            image_std=[0.26862954, 0.26130258, 0.27577711], do_convert_rgb=True)
# The pipeline encodes the prompt and the negative prompt in two calls of batch 1; we time one.
PROMPT = ("A red fox walks slowly across the snowy streets of Zürich at golden hour. The camera pans "
          "slowly to the left. Cinematic, 35mm film grain.")
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
TEXT_ITERS = int(os.environ.get("BENCH_TEXT_ITERS", "3"))
DTYPES = os.environ.get("BENCH_DTYPES", "fp32").split(",")  # bf16 on CPUs without bf16 units is slow
IMAGE_ITERS = int(os.environ.get("BENCH_IMAGE_ITERS", "5"))


def status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


def make(d: Path) -> None:
    from PIL import Image
    from safetensors.torch import save_file
    from transformers import (AutoTokenizer, CLIPImageProcessor, CLIPVisionConfig,
                              CLIPVisionModelWithProjection, UMT5Config, UMT5EncoderModel)

    torch.manual_seed(0)
    d.mkdir(parents=True, exist_ok=True)
    if not (TOKENIZER / "spiece.model").exists():
        sys.exit(f"{TOKENIZER} missing: run scripts/reference/make_fixtures.py first")
    tok = AutoTokenizer.from_pretrained(str(TOKENIZER))
    tok.save_pretrained(str(d / "tokenizer"))
    (d / "tokenizer" / "spiece.model").write_bytes((TOKENIZER / "spiece.model").read_bytes())
    cfg = UMT5Config(**UMT5)
    cfg.architectures = ["UMT5EncoderModel"]
    te = UMT5EncoderModel(cfg).eval()
    have = (d / "text_encoder" / "model.safetensors").exists() and (d / "image_encoder").exists()
    if have:  # re-make only the reference outputs
        te = UMT5EncoderModel.from_pretrained(str(d / "text_encoder")).eval()
    with torch.no_grad():  # T5-style init so activations stay sane (q has the 1/sqrt(d) folded in)
        for n, p in te.named_parameters():
            if have:
                break
            if "layer_norm" in n:
                p.fill_(1.0)
            elif "relative_attention_bias" in n:
                p.normal_(0, 0.5)
            elif n.endswith("q.weight"):
                p.normal_(0, (UMT5["d_model"] * UMT5["d_kv"]) ** -0.5)
            elif p.ndim == 2 and "shared" not in n and "embed" not in n:
                p.normal_(0, p.shape[1] ** -0.5)
    if not have:
        te.save_pretrained(str(d / "text_encoder"), safe_serialization=True)
        CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP)).save_pretrained(
            str(d / "image_encoder"), safe_serialization=True)
    ce = CLIPVisionModelWithProjection.from_pretrained(str(d / "image_encoder")).eval()
    CLIPImageProcessor(**PROC).save_pretrained(str(d / "image_processor"))
    g = torch.Generator().manual_seed(1)
    img = (torch.rand(480, 832, 3, generator=g) * 255).to(torch.uint8)
    img = torch.nn.functional.avg_pool2d(img.permute(2, 0, 1)[None].float(), 9, 1, 4)[0].permute(1, 2, 0)
    Image.fromarray(img.clamp(0, 255).to(torch.uint8).numpy()).save(d / "image_832x480.png")
    with torch.no_grad():
        embeds = encode_text(tok, te, [PROMPT])
        feats = encode_image(CLIPImageProcessor.from_pretrained(str(d / "image_processor")), ce,
                             Image.open(d / "image_832x480.png").convert("RGB"))
    save_file({"prompt_embeds": embeds.contiguous(), "image_embeds": feats.contiguous()},
              str(d / "ref_outputs.safetensors"))


def encode_text(tok, te, prompts: list[str]) -> torch.Tensor:
    """diffusers WanPipeline._get_t5_prompt_embeds with max_sequence_length 512."""
    from diffusers.pipelines.wan.pipeline_wan import prompt_clean

    prompts = [prompt_clean(p) for p in prompts]
    ti = tok(prompts, padding="max_length", max_length=512, truncation=True, add_special_tokens=True,
             return_attention_mask=True, return_tensors="pt")
    seq_lens = ti.attention_mask.gt(0).sum(dim=1).long()
    out = te(ti.input_ids, ti.attention_mask).last_hidden_state
    out = [u[:v] for u, v in zip(out, seq_lens)]
    return torch.stack([torch.cat([u, u.new_zeros(512 - u.size(0), u.size(1))]) for u in out], dim=0)


def encode_image(proc, ce, image) -> torch.Tensor:
    """diffusers WanImageToVideoPipeline.encode_image."""
    pix = proc(images=image, return_tensors="pt")
    return ce(**pix, output_hidden_states=True).hidden_states[-2]


def timed(fn, iters: int, rss_before_load: int) -> dict:
    fn()  # warm-up
    reset_peak()
    rss0 = status_kb("VmRSS")
    resident = (rss0 - rss_before_load) / 1024
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "iters": iters,
            "peak_extra_mib": (status_kb("VmHWM") - rss0) / 1024, "resident_mib": resident}


def run(d: Path, out: Path) -> None:
    from PIL import Image
    from transformers import AutoTokenizer, CLIPImageProcessor, CLIPVisionModelWithProjection, UMT5EncoderModel

    torch.set_num_threads(THREADS)
    res = {"side": "python (transformers 5.23 / torch 2.15)", "threads": THREADS}
    with torch.inference_mode():
        for dtype_name in DTYPES:
            dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
            rss0 = status_kb("VmRSS")
            tok = AutoTokenizer.from_pretrained(str(d / "tokenizer"))
            te = UMT5EncoderModel.from_pretrained(str(d / "text_encoder"), dtype=dtype).eval()
            r = timed(lambda: encode_text(tok, te, [PROMPT]), TEXT_ITERS, rss0)
            res[f"text_{dtype_name}"] = r
            del te
            rss0 = status_kb("VmRSS")
            proc = CLIPImageProcessor.from_pretrained(str(d / "image_processor"))
            ce = CLIPVisionModelWithProjection.from_pretrained(str(d / "image_encoder"), dtype=dtype).eval()
            image = Image.open(d / "image_832x480.png").convert("RGB")
            r = timed(lambda: encode_image(proc, ce, image), IMAGE_ITERS, rss0)
            res[f"image_{dtype_name}"] = r
            del ce
    res["peak_rss_mib"] = status_kb("VmHWM") / 1024
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))


def report(d: Path) -> str:
    py = json.loads((d / "python.json").read_text())
    cpp = json.loads((d / "cpp.json").read_text())
    rows = []
    for key, what in (("text", "umT5 encode (1 prompt, 512 tokens)"),
                      ("image", "CLIP encode_image (832x480 PNG -> [1, 257, 1280])")):
        for dt in DTYPES:
            p, c = py[f"{key}_{dt}"], cpp[f"{key}_{dt}"]
            rows.append(f"| {what} | {dt} | {p['median_s'] * 1000:.0f} ({p['min_s'] * 1000:.0f}) | "
                        f"{c['median_s'] * 1000:.0f} ({c['min_s'] * 1000:.0f}) | "
                        f"{p['min_s'] / c['min_s']:.2f}x | {p['resident_mib']:.0f} / {c['resident_mib']:.0f} | "
                        f"{p['peak_extra_mib']:.0f} / {c['peak_extra_mib']:.0f} |")
    return "\n".join([
        "| stage | dtype | transformers ms, median (min) | rayvid ms, median (min) | speed-up (min) | resident after load + warm-up MiB (py / C++) | "
        "encode peak extra MiB (py / C++) |",
        "|---|---|---|---|---|---|---|", *rows,
        "",
        f"Sanity (fp32 rayvid vs transformers on the same weights): prompt_embeds rel err "
        f"{cpp['parity']['prompt_embeds_rel_err']:.2e}, image_embeds rel err {cpp['parity']['image_embeds_rel_err']:.2e}.",
        f"Threads: {py['threads']} (both sides). Process peak RSS: python {py['peak_rss_mib']:.0f} MiB, "
        f"C++ {cpp['peak_rss_mib']:.0f} MiB.",
    ])


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make":
        make(Path(sys.argv[2]))
    elif cmd == "run":
        run(Path(sys.argv[2]), Path(sys.argv[3]))
    elif cmd == "report":
        print(report(Path(sys.argv[2])))
    else:
        sys.exit(__doc__)
