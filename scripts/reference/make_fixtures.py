#!/usr/bin/env python
"""rayvid Python reference harness: tiny Wan model folders, goldens, tokenizer, real-config shapes.

Usage (from the repo root, with the pinned venv):
  .venv/bin/python scripts/reference/make_fixtures.py                 # everything (+ demo model)
  .venv/bin/python scripts/reference/make_fixtures.py --only demo     # just models/rayvid-tiny-ti2v
  .venv/bin/python scripts/reference/make_fixtures.py --check-demo    # regenerate demo in a temp dir, compare
  .venv/bin/python scripts/reference/make_fixtures.py --verify-deterministic   # 2nd run in a subprocess, compare
Options: --out DIR (default tests/fixtures/generated), --demo-out DIR (default models/rayvid-tiny-ti2v),
         --stats (print activation / attention statistics of every component).
Deterministic: single-threaded torch, explicit seeds, offline. See scripts/reference/README.md.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ref_common  # noqa: E402  (sets offline env vars before torch/diffusers import)
from ref_common import REPO_ROOT, GoldenSet, sha256_tree, tree_size  # noqa: E402


def _abs(p: str) -> Path:
    q = Path(p)
    return q if q.is_absolute() else (REPO_ROOT / q)


# ----------------------------------------------------------------------------------------------
# pieces
# ----------------------------------------------------------------------------------------------

def make_tokenizer(tok_dir: Path, goldens: bool):
    import ref_tokenizer as T

    corpus = T.make_corpus()
    T.write_corpus(tok_dir / "corpus.txt", corpus)
    spiece = tok_dir / "spiece.model"
    T.train_spm(corpus, spiece)
    tok = T.build_hf_tokenizer(spiece, tok_dir)
    if goldens:
        T.save_tokenizer(tok, None, tok_dir)
        T.token_goldens(tok_dir, tok, spiece, corpus)
    return tok, spiece, corpus


def make_demo(demo_out: Path, tok, spiece: Path) -> None:
    import ref_models as M

    pipe = M.build_pipeline("demo", tok)
    M.save_pipeline(pipe, demo_out, spiece)
    write_demo_readme(demo_out, pipe)
    smoke_demo(demo_out)


def smoke_demo(folder: Path) -> None:
    import torch

    import ref_models as M

    pipe = M.load_pipeline("demo", folder)
    g = torch.Generator("cpu").manual_seed(0)
    with torch.no_grad():
        out = pipe(prompt="smoke test", height=64, width=96, num_frames=5, num_inference_steps=2,
                   guidance_scale=3.0, generator=g, output_type="pt").frames
    assert out.shape == (1, 5, 3, 64, 96) and torch.isfinite(out).all(), out.shape


def write_demo_readme(folder: Path, pipe) -> None:
    def nparams(m):
        return sum(p.numel() for p in m.parameters())

    t, v, te = pipe.transformer.config, pipe.vae.config, pipe.text_encoder.config
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "README.md")
    total = sum(p.stat().st_size for p in files)
    lines = [
        "# rayvid-tiny-ti2v (bundled demo model)",
        "",
        "**The weights are random.** Every parameter was drawn from a normal distribution with a fixed seed;",
        "nothing was trained. Generated clips are noise-like patterns. This folder exists to exercise the",
        "real Wan2.2 TI2V code path end to end (tokenizer -> umT5 -> DiT with per-token timesteps -> UniPC ->",
        "Wan2.2 VAE decode) on CPU in seconds, not to make pretty videos.",
        "",
        "Layout: a real diffusers `WanPipeline` folder (`model_index.json` with `expand_timesteps: true`,",
        "`scheduler/`, `text_encoder/` (UMT5EncoderModel), `tokenizer/` (T5Tokenizer + spiece.model),",
        "`transformer/` (WanTransformer3DModel), `vae/` (AutoencoderKLWan, Wan2.2 layout)), fp32 safetensors.",
        "Loadable with `diffusers.WanPipeline.from_pretrained(<this dir>)` (diffusers 0.42.1).",
        "",
        "Created by (deterministic; `--check-demo` verifies the committed files byte for byte):",
        "",
        "    .venv/bin/python scripts/reference/make_fixtures.py --only demo",
        "",
        "## Sizes",
        "",
        f"| component | class | config | params |",
        f"|---|---|---|---|",
        f"| transformer | WanTransformer3DModel | {t.num_attention_heads} heads x {t.attention_head_dim} = "
        f"{t.num_attention_heads * t.attention_head_dim} dim, ffn {t.ffn_dim}, {t.num_layers} layers, in/out "
        f"{t.in_channels}/{t.out_channels}, text_dim {t.text_dim}, freq_dim {t.freq_dim}, patch "
        f"{tuple(t.patch_size)} | {nparams(pipe.transformer):,} |",
        f"| vae | AutoencoderKLWan (Wan2.2: z_dim {v.z_dim}, patch_size {v.patch_size}, is_residual "
        f"{v.is_residual}, 4x16x16) | base_dim {v.base_dim}, decoder_base_dim {v.decoder_base_dim}, dim_mult "
        f"{list(v.dim_mult)}, num_res_blocks {v.num_res_blocks}, real 48-ch latents_mean/std | "
        f"{nparams(pipe.vae):,} |",
        f"| text_encoder | UMT5EncoderModel | d_model {te.d_model}, {te.num_heads} heads x d_kv {te.d_kv}, d_ff "
        f"{te.d_ff}, {te.num_layers} layers, {te.relative_attention_num_buckets} rel. buckets, vocab "
        f"{te.vocab_size} | {nparams(pipe.text_encoder):,} |",
        f"| tokenizer | T5Tokenizer | SentencePiece unigram, 1000 pieces + 24 <extra_id_*>, pad 0 / eos 1 / unk 2 "
        f"| - |",
        f"| scheduler | UniPCMultistepScheduler | flow_prediction, use_flow_sigmas, flow_shift "
        f"{pipe.scheduler.config.flow_shift}, bh2, order 2 | - |",
        "",
        f"Total size of the weight/config files: {total / 1e6:.2f} MB.",
        "",
        "Geometry: pixel H and W must be multiples of 32 (VAE 16 x patch 2), frames 4k+1. Example: 960x544,",
        "121 frames -> latents [48, 31, 34, 60] -> 31 x 17 x 30 = 15,810 tokens. Cost at that preset with",
        "torch 2.15 on CPU (measured as process CPU time): one DiT forward ~4 CPU-s (two per step with CFG),",
        "Wan2.2 VAE decode ~230 CPU-s (every 3x3x3 conv3d runs torch's slow_conv3d), i.e. roughly 2 min of",
        "decode plus a few seconds per step on 2 idle cores. Small sizes (e.g. 96x64, 9 frames) take well",
        "under a second per step.",
        "",
        "Text length: prompts are tokenised to 512 (max_sequence_length) like the real pipelines.",
        "",
    ]
    (folder / "README.md").write_text("\n".join(lines), encoding="utf-8")


def make_models(out: Path, tok, spiece: Path) -> dict[str, str]:
    import ref_models as M

    dirs = {}
    for fam in M.FAMILIES:
        d = out / "models" / fam
        M.save_pipeline(M.build_pipeline(fam, tok), d, spiece)
        dirs[fam] = f"models/{fam}"
    # the text encoder (and Wan2.1 VAE) are the same weights in every folder: assert it
    te = {f: sha256_tree(out / dirs[f] / "text_encoder") for f in M.FAMILIES}
    assert all(v == te["wan21_t2v"] for v in te.values()), "text encoders differ between families"
    v21 = [sha256_tree(out / dirs[f] / "vae") for f in ("wan21_t2v", "wan21_i2v", "wan22_a14b")]
    assert v21[0] == v21[1] == v21[2], "Wan2.1 VAEs differ between families"
    return dirs


def make_goldens(out: Path, dirs: dict[str, str], tok, corpus: list[str], verbose: bool) -> None:
    import ref_goldens as G
    import ref_models as M
    import ref_pipelines as P
    import ref_tokenizer as T
    from ref_schedulers import scheduler_goldens

    gold = out / "golden"
    hostile = dict(T.hostile_inputs(corpus))
    prompts = {"empty": "", "short": "A cat.", "corpus_0": corpus[0], "corpus_non_latin": next(
        c for c in corpus if "東京" in c), "html_entities": hostile["html_amp_amp"],
        "max_length": hostile["long_10000_chars"]}
    print("[goldens] text_encoder")
    G.text_encoder_goldens(gold / "text_encoder", dirs, out, tok, prompts, corpus + list(hostile.values()), verbose)
    print("[goldens] vae21 / vae22")
    G.vae_goldens(gold / "vae21", "vae21", [dirs["wan21_t2v"], dirs["wan21_i2v"], dirs["wan22_a14b"]], out, verbose)
    G.vae_goldens(gold / "vae22", "vae22", [dirs["wan22_ti2v"]], out, verbose)
    print("[goldens] schedulers")
    scheduler_goldens(gold / "schedulers")
    dit_cfg = {"wan21_t2v": {"transformer": M.DIT_BASE}, "wan21_i2v": {"transformer": M.DIT_I2V},
               "wan22_ti2v": {"transformer": M.DIT_TI2V},
               "wan22_a14b": {"transformer": M.DIT_BASE, "transformer_2": M.DIT_BASE}}
    for fam in M.FAMILIES:
        print(f"[goldens] {fam}")
        folder = out / dirs[fam]
        gs = GoldenSet(gold / fam, fam, f"DiT forwards + full pipeline runs for {fam}")
        gs.root.mkdir(parents=True, exist_ok=True)
        gs.params["model_dir"] = dirs[fam]
        for sub, cfg in dit_cfg[fam].items():
            G.dit_goldens(gs, fam, folder, sub, cfg, verbose)
        pipe = M.load_pipeline(fam, folder)
        if fam == "wan21_i2v":
            G.clip_goldens(gs, folder, pipe, verbose)
        P.pipeline_goldens(gs, fam, pipe)
        P.check_identity_resize(gs)
        gs.write()


def generate(out: Path, demo_out: Path, only: str | None, verbose: bool) -> None:
    import torch

    ref_common.setup_determinism()
    t0 = time.time()
    if only == "demo":
        with tempfile.TemporaryDirectory() as td:
            tok, spiece, _ = make_tokenizer(Path(td), goldens=False)
            make_demo(demo_out, tok, spiece)
        print(f"demo model written to {demo_out} ({tree_size(demo_out) / 1e6:.2f} MB) in {time.time() - t0:.1f}s")
        return
    if out.exists() and any(out.iterdir()):
        if not (out / "golden").is_dir() and not (out / "tokenizer").is_dir():
            raise SystemExit(f"refusing to wipe {out}: not empty and not a previous fixtures dir")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"[tokenizer] -> {out / 'tokenizer'}")
    tok, spiece, corpus = make_tokenizer(out / "tokenizer", goldens=True)
    print(f"[models] -> {out / 'models'}  ({time.time() - t0:.1f}s)")
    dirs = make_models(out, tok, spiece)
    make_goldens(out, dirs, tok, corpus, verbose)
    print(f"[meta_shapes]  ({time.time() - t0:.1f}s)")
    from ref_meta_shapes import meta_shapes

    meta_shapes(out / "meta_shapes")
    # Component-specific goldens: every scripts/reference/extra_<component>.py exposes make(out)
    # and writes <out>/golden_extra/<component>/.
    import importlib

    for extra in sorted(Path(__file__).parent.glob("extra_*.py")):
        print(f"[{extra.stem}]  ({time.time() - t0:.1f}s)")
        importlib.import_module(extra.stem).make(out)
    print(f"[demo] -> {demo_out}  ({time.time() - t0:.1f}s)")
    make_demo(demo_out, tok, spiece)
    dt = time.time() - t0
    print(f"done in {dt:.1f}s (torch threads={torch.get_num_threads()}); generated dir {tree_size(out) / 1e6:.1f} MB, "
          f"demo {tree_size(demo_out) / 1e6:.2f} MB")


def compare_trees(a: Path, b: Path, la: str = "first run", lb: str = "second run") -> list[str]:
    ha, hb = sha256_tree(a), sha256_tree(b)
    problems = [f"only in {la}: {k}" for k in sorted(set(ha) - set(hb))]
    problems += [f"only in {lb}: {k}" for k in sorted(set(hb) - set(ha))]
    problems += [f"sha256 differs: {k}" for k in sorted(set(ha) & set(hb)) if ha[k] != hb[k]]
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/fixtures/generated")
    ap.add_argument("--demo-out", default="models/rayvid-tiny-ti2v")
    ap.add_argument("--only", choices=["demo"], default=None)
    ap.add_argument("--check-demo", action="store_true")
    ap.add_argument("--verify-deterministic", action="store_true")
    ap.add_argument("--stats", action="store_true", help="print activation statistics")
    args = ap.parse_args()
    out, demo_out = _abs(args.out), _abs(args.demo_out)

    if args.check_demo:
        t0 = time.time()
        if not demo_out.is_dir():
            print(f"FAIL: committed demo model folder {demo_out} does not exist")
            return 1
        with tempfile.TemporaryDirectory() as td:
            regen = Path(td) / "demo"
            generate(out, regen, "demo", False)
            problems = compare_trees(demo_out, regen, "the committed folder", "the regenerated folder")
        if problems:
            print(f"FAIL: {demo_out} does not match a fresh `make_fixtures.py --only demo` run:")
            for p in problems:
                print("  " + p)
            print("Regenerate with: .venv/bin/python scripts/reference/make_fixtures.py --only demo")
            return 1
        print(f"OK: {demo_out} matches the regenerated demo model ({len(sha256_tree(demo_out))} files, "
              f"{time.time() - t0:.1f}s)")
        return 0

    generate(out, demo_out, args.only, args.stats)

    if args.verify_deterministic:
        with tempfile.TemporaryDirectory() as td:
            o2, d2 = Path(td) / "gen", Path(td) / "demo"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--out", str(o2), "--demo-out", str(d2)]
            if args.only:
                cmd += ["--only", args.only]
            print("[verify-deterministic] second run in a subprocess:", " ".join(cmd))
            subprocess.run(cmd, check=True)
            problems = ([] if args.only else compare_trees(out, o2)) + compare_trees(demo_out, d2)
        if problems:
            print("FAIL: outputs of two runs differ:")
            for p in problems:
                print("  " + p)
            return 1
        n = (0 if args.only else len(sha256_tree(out))) + len(sha256_tree(demo_out))
        print(f"OK: two runs are bit-identical ({n} files compared by sha256)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
