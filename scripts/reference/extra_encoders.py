"""Extra goldens for the text and image encoders (rayvid issue 4), beyond the harness's own.

make(out_dir) writes <out_dir>/golden_extra/encoders/:
  tokens_extra.safetensors + manifest.json  ids of more hostile strings (HTML edge cases, every
      ftfy fixer the C++ cleaning implements, special-token literals, Unicode whitespace/NFKC,
      truncation at several max_length values), tokenised exactly as the Wan pipeline does
      (prompt_clean -> tokenizer(padding="max_length", truncation=True)) with the tiny tokenizer
      of <out_dir>/models/wan21_t2v/tokenizer.
  tokenizer_byte_fallback/ + ids of the hostile strings through it: a SentencePiece model trained
      with byte_fallback=True (umT5-style) on the harness corpus, loaded by transformers'
      T5Tokenizer (whose Unigram has byte_fallback off: unknown characters become one <unk>).
  clip_extra.safetensors  the tiny CLIP's pixel_values and hidden_states[-2] for a batch of the
      three harness PNGs at once (batch path), from <out_dir>/models/wan21_i2v.

Deterministic (no randomness). Run: .venv/bin/python scripts/reference/extra_encoders.py --out DIR
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

EXTRA_STRINGS: list[tuple[str, str]] = [
    # html.unescape / ftfy.unescape_html edge cases
    ("html_legacy_no_semicolon", "fish &amp chips &copy2024 &ampfoo &lt3"),
    ("html_notin_vs_not", "&notit; &notin; &not"),
    ("html_numeric", "&#65;&#x42;&#X43 &#65 &#0; &#128; &#x110000; &#xD800; &#1114111; &#x1F600;"),
    ("html_invalid_codepoints", "a&#1;b&#x7F;c&#xFFFE;d&#x0B;e"),
    ("html_unknown", "&unknownentity; &zz; & alone &; &#; &#x; &&&;;;"),
    ("html_upper_ftfy", "P&EACUTE;REZ &NTILDE; &nTILDE; BUNDESSTRA&SZLIG;E"),
    ("html_deep", "&amp;amp;amp;amp;lt;"),
    ("html_long_name", "&" + "a" * 40 + "; &" + "b" * 30 + "amp;"),
    ("html_with_tag", "a &lt;b&gt; with <tag> &amp;amp; inside"),
    ("html_sticky_lines", "line1 &amp;amp;\n<b> line2 &amp;amp;amp;\nline3 &eacute;"),
    ("html_math", "&Jscr;ohn &HilbertSpace;ancock &checkmark; &frac12; &hellip;"),
    # ftfy fixers
    ("ftfy_ligatures", "\ufb01sh \ufb02our \ufb00 \u0132sselmeer \u01c4"),
    ("ftfy_width", "\uff21\uff22\uff23\uff11\uff12\uff13 \uff76\uff80\uff76\uff85 \u3000gap"),
    ("ftfy_quotes", "\u201chello\u201d \u2018world\u2019 it\u02bcs \u201a\u201b\u201e\u201f"),
    ("ftfy_c1", "price \u0080 5 \u0093quoted\u0094 \u0085 \u0081x"),
    ("ftfy_line_breaks", "a\r\nb\rc\u2028d\u2029e"),
    ("ftfy_terminal", "\x1b[31mred\x1b[0m and \x1b[1;32mgreen\x1b[m"),
    ("ftfy_controls", "\x00\x01\x02\x7f text\x0b\x0c\x1c\x1d\u206a\ufeffBOM\ufff9x"),
    ("ftfy_mojibake_latin1", "s\u00c3\u00b3 \u00c3\u00a9t\u00c3\u00a9"),
    ("ftfy_mojibake_cp1252", "\u00e2\u20ac\u0153quoted\u00e2\u20ac\u009d and don\u00e2\u20ac\u2122t"),
    ("ftfy_legit_latin1", "caf\u00e9 na\u00efve \u00c5ngstr\u00f6m \u00a9 \u00bd"),
    # tokenizer-level
    ("special_adjacent", "</s></s><pad>x<unk>y<extra_id_23>z<extra_id_0><s>"),
    ("special_spaces", "  </s>  a  <extra_id_1>  "),
    ("unicode_spaces", "\u2000\u2001a\u205fb\u3000c\x1c\x1dd\x85e\u200bf\u2060g"),
    ("nfkc", "\u2460\u2461 \u338f \u212b \u00b9\u00b2 \u2126 e\u0301 \u1e9b\u0323"),
    ("emoji_sequences", "\U0001F44D\U0001F3FD \U0001F1EF\U0001F1F5 \U0001F468\u200d\U0001F469\u200d\U0001F467"),
    ("rtl_and_combining", "\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd \u0915\u094d\u0937 \u0e01\u0e34"),
]
TRUNCATION_LENGTHS = [1, 2, 16, 77]
TRUNCATION_TEXT = "A red fox walks slowly across a misty pine forest at sunrise. </s> Slow dolly-in shot."


def make(out_dir: Path) -> None:
    from diffusers.pipelines.wan.pipeline_wan import prompt_clean
    from transformers import AutoTokenizer

    out_dir = Path(out_dir)
    dest = out_dir / "golden_extra" / "encoders"
    dest.mkdir(parents=True, exist_ok=True)
    tok_rel = "models/wan21_t2v/tokenizer"
    tok = AutoTokenizer.from_pretrained(str(out_dir / tok_rel))

    tensors: dict[str, torch.Tensor] = {}
    cases = []
    items = [(n, s, 512) for n, s in EXTRA_STRINGS]
    items += [(f"truncate_{n}", TRUNCATION_TEXT, n) for n in TRUNCATION_LENGTHS]
    for name, raw, max_len in items:
        cleaned = prompt_clean(raw)
        ti = tok([cleaned], padding="max_length", max_length=max_len, truncation=True,
                 add_special_tokens=True, return_attention_mask=True, return_tensors="pt")
        tensors[f"ids.{name}"] = ti.input_ids.to(torch.int64).contiguous()
        tensors[f"mask.{name}"] = ti.attention_mask.to(torch.int64).contiguous()
        cases.append({"name": name, "raw": raw, "cleaned": cleaned, "max_length": max_len,
                      "ids": f"ids.{name}", "mask": f"mask.{name}"})
    # A byte-fallback SentencePiece model through transformers' T5Tokenizer.
    import io
    import shutil

    import sentencepiece as spm
    from transformers import T5Tokenizer

    corpus = (out_dir / "tokenizer" / "corpus.txt").read_text(encoding="utf-8").splitlines()
    spm.set_random_generator_seed(1234)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_writer=buf, model_type="unigram", vocab_size=1000,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, num_threads=1, character_coverage=0.9995,
        byte_fallback=True, normalization_rule_name="nmt_nfkc", shuffle_input_sentence=False,
        minloglevel=2)
    bf_dir = dest / "tokenizer_byte_fallback"
    shutil.rmtree(bf_dir, ignore_errors=True)
    bf_dir.mkdir(parents=True)
    (bf_dir / "spiece.model").write_bytes(buf.getvalue())
    bf_tok = T5Tokenizer.from_pretrained(str(bf_dir), extra_ids=8)
    bf_tok.save_pretrained(str(bf_dir))
    bf_tok = AutoTokenizer.from_pretrained(str(bf_dir))  # as a pipeline would load the folder
    bf_strings = [(n, s) for n, s in EXTRA_STRINGS] + [
        ("bf_unknown_runs", "\u16a0\u16a2 x \U0001F408\U0001F60E \u0e01\u0e02 y \u2603"),
        ("bf_mixed", "caf\u00e9 \u6771\u4eac \u041c\u043e\u0441\u043a\u0432\u0430 \U0001D49C end")]
    bf_cases = []
    for name, raw in bf_strings:
        ti = bf_tok([prompt_clean(raw)], padding="max_length", max_length=128, truncation=True,
                    add_special_tokens=True, return_attention_mask=True, return_tensors="pt")
        tensors[f"bf.ids.{name}"] = ti.input_ids.to(torch.int64).contiguous()
        bf_cases.append({"name": name, "raw": raw, "max_length": 128, "ids": f"bf.ids.{name}"})
    save_file(tensors, str(dest / "tokens_extra.safetensors"), metadata={"format": "pt"})

    clip = {}
    i2v = out_dir / "models" / "wan21_i2v"
    pngs = sorted((out_dir / "golden" / "wan21_i2v").glob("clip_*.png"))
    if (i2v / "image_encoder").exists() and pngs:
        from PIL import Image
        from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

        torch.set_num_threads(1)
        proc = CLIPImageProcessor.from_pretrained(str(i2v / "image_processor"))
        enc = CLIPVisionModelWithProjection.from_pretrained(str(i2v / "image_encoder")).eval()
        images = [Image.open(p).convert("RGB") for p in pngs]
        with torch.no_grad():
            pix = proc(images=images, return_tensors="pt").pixel_values
            hs = enc(pixel_values=pix, output_hidden_states=True).hidden_states[-2]
        clip = {"batch.pixel_values": pix.float().contiguous(), "batch.encode_image": hs.float().contiguous()}
        save_file(clip, str(dest / "clip_extra.safetensors"), metadata={"format": "pt"})

    manifest = {
        "schema_version": 1,
        "family": "encoders",
        "description": "extra tokenizer strings and a CLIP batch for the rayvid encoder tests",
        "params": {"tokenizer_dir": tok_rel, "pipeline": "diffusers prompt_clean + tokenizer(padding='max_length', "
                   "truncation=True, add_special_tokens=True)",
                   "clip_batch_pngs": [f"golden/wan21_i2v/{p.name}" for p in pngs] if clip else []},
        "tokens_extra": cases,
        "byte_fallback_tokenizer_dir": "golden_extra/encoders/tokenizer_byte_fallback",
        "tokens_byte_fallback": bf_cases,
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    make(ap.parse_args().out)
