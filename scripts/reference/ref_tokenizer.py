"""Tokenizer part of the reference harness.

1. `make_corpus()`: deterministic English scene/camera-motion prompts from combinatorial templates
   (punctuation, numbers, some accented and non-Latin words).
2. `train_spm()`: a SentencePiece **unigram** model (pad 0, eos 1, unk 2, no bos; umT5/T5 layout),
   trained single-threaded with a fixed seed. byte_fallback is OFF on purpose: transformers 5.x
   `T5Tokenizer` builds its `tokenizers` Unigram model with `byte_fallback=False`, so with a
   byte-fallback model SentencePiece and HF would disagree on every out-of-vocabulary character
   (SPM: <0xNN> byte pieces, HF: <unk>). Without it both map unknown characters to <unk>=2.
3. `build_hf_tokenizer()`: transformers' own `T5Tokenizer.from_pretrained(<dir with spiece.model>)`
   (the SentencePiece -> tokenizers conversion path), plus EXTRA_IDS sentinel tokens appended after
   the SentencePiece vocabulary like umT5 (<extra_id_{N-1}> first, <extra_id_0> last).
4. `token_goldens()`: pipeline-exact tokenisation (prompt_clean from diffusers pipeline_wan.py, then
   tokenizer(padding="max_length", max_length=512, truncation=True, add_special_tokens=True)) of all
   corpus lines and a list of hostile strings; asserts HF == SPM(+EOS) on every corpus line.
"""

from __future__ import annotations

import html
import io
import random
import shutil
from pathlib import Path

from ref_common import GoldenSet

SPM_VOCAB = 1000
EXTRA_IDS = 24  # umT5 has 384 sentinels after 256000 SPM pieces; tiny: 24 after 1000 -> vocab 1024
MAX_LEN = 512
CORPUS_SEED = 20240501

_SUBJECTS = [
    "a red fox", "an old fisherman", "two children", "a golden retriever", "a vintage car",
    "a hot-air balloon", "a flock of seagulls", "a ballet dancer", "a small robot", "an astronaut",
    "a street musician", "three wild horses", "a paper boat", "a lighthouse keeper", "a young chef",
    "a skateboarder", "a hummingbird", "a steam train", "a glowing jellyfish", "a snow leopard",
    "a cyclist in a yellow raincoat", "an elderly couple", "a calico cat", "a tiny hedgehog",
    "a marching band", "a sailboat", "a barista", "a knight in silver armour", "a koi fish",
    "a crowd of 100 people", "a delivery drone", "a pianist", "a surfer", "a monk",
]
_ACTIONS = [
    "walks slowly across", "runs along", "dances in", "floats above", "drifts through",
    "stands still in", "jumps over a puddle in", "rides through", "circles around", "rests beside",
    "wanders through", "races across", "spins in circles in", "sleeps peacefully in", "glides over",
    "searches for something in", "waves at the camera in", "climbs up", "paints a mural in",
]
_PLACES = [
    "a misty pine forest", "a crowded night market", "the snowy streets of Zürich",
    "a small café in São Paulo", "an empty desert highway", "the harbour of Reykjavík",
    "a neon-lit alley in 東京", "Red Square in Москва", "a spice bazaar in القاهرة",
    "a rooftop garden in 서울", "the old ruins near Αθήνα", "a temple courtyard in दिल्ली",
    "a quiet beach at dawn", "a golden wheat field", "an underwater coral reef",
    "a glass skyscraper lobby", "a medieval castle", "a bamboo grove", "a frozen lake",
    "a busy train station", "a sunflower field in Provence", "the canals of Venice",
    "a crème brûlée shop in Montréal", "a piñata party in Guadalajara", "the fjords near Ålesund",
]
_TIMES = [
    "at sunrise", "at golden hour", "under heavy rain", "during a thunderstorm", "at midnight",
    "on a foggy morning", "in late autumn", "in the summer of 1987", "on a windy afternoon",
    "under a full moon", "as snow begins to fall", "at 6:30 a.m.", "in the year 2049",
]
_CAMERA = [
    "The camera pans slowly to the left.", "Slow dolly-in shot.", "Aerial drone shot, rising 30 metres.",
    "Handheld tracking shot at 24 fps.", "The camera orbits 360° around the subject.",
    "Static wide shot; no camera movement.", "Close-up, shallow depth of field (f/1.8).",
    "Tilt up from the ground to the sky!", "Zoom out over 5 seconds.", "Crane shot descending 10 m.",
    "The camera follows from behind.", "Whip pan to the right, then hold.", "Push in, then rack focus.",
    "Low-angle shot looking up.", "Overhead top-down view.", "Slow motion at 120 fps.",
]
_STYLES = [
    "Cinematic, 35mm film grain.", "Photorealistic, 4K HDR.", "Watercolour style, soft pastel colours.",
    "Anime style, vibrant colours.", "Black-and-white documentary look.", "Shot on a vintage 16mm camera.",
    "Hyper-detailed, 8k, volumetric light.", "Muted colours, moody atmosphere.", "Bright and cheerful.",
    "Stop-motion claymation look.", "Naïve folk-art illustration.", "",
]
_THINGS = ["lanterns", "birds", "umbrellas", "balloons", "candles", "kites", "boats", "stars"]
_ADJ = ["peaceful", "chaotic", "dreamlike", "surreal", "nostalgic", "tense", "joyful", "melancholic"]
_COLORS = ["crimson", "amber", "turquoise", "violet", "emerald", "silver", "ochre", "indigo", "scarlet",
           "ivory", "charcoal", "lavender", "teal", "magenta", "copper", "olive", "cobalt", "rust", "peach"]
_NOUNS = ["umbrella", "bicycle", "kite", "teapot", "lantern", "carousel", "windmill", "typewriter",
          "accordion", "telescope", "compass", "hourglass", "chandelier", "gramophone", "scooter",
          "tractor", "canoe", "submarine", "zeppelin", "motorcycle", "greenhouse", "waterfall", "volcano",
          "glacier", "canyon", "meadow", "orchard", "vineyard", "marketplace", "stadium", "library",
          "cathedral", "pagoda", "lighthouse", "observatory", "laboratory", "workshop", "bakery",
          "aquarium", "planetarium", "monastery", "farmhouse", "boardwalk", "footbridge", "tunnel",
          "escalator", "balcony", "staircase", "fountain", "swimming pool", "parking garage"]
_VERBS = ["spinning", "melting", "flickering", "shimmering", "collapsing", "blooming", "rotating",
          "swaying", "trembling", "sparkling", "dissolving", "unfolding", "bouncing", "drifting",
          "smouldering", "reflecting the light", "casting long shadows", "covered in frost",
          "overgrown with ivy", "wrapped in fog", "lit by fireworks", "surrounded by fireflies"]
_MOODS = ["Ethereal", "Gritty", "Whimsical", "Ominous", "Serene", "Energetic", "Mysterious", "Romantic",
          "Playful", "Epic", "Intimate", "Minimalist", "Baroque", "Futuristic", "Retro", "Dystopian"]
_ANIMALS = ["otter", "flamingo", "chameleon", "walrus", "porcupine", "armadillo", "peacock", "salamander",
            "octopus", "raccoon", "pelican", "tortoise", "kangaroo", "meerkat", "panther", "dolphin",
            "butterfly", "dragonfly", "squirrel", "beaver", "penguin", "giraffe", "rhinoceros", "badger",
            "wolf pack", "buffalo herd", "swan", "crocodile", "lynx", "moose", "gazelle", "toucan"]
_FOODS = ["ramen", "croissants", "dumplings", "pancakes", "tacos", "sushi", "paella", "lasagna",
          "pretzels", "macarons", "watermelon slices", "strawberries", "espresso", "hot chocolate",
          "gingerbread", "pomegranates", "blueberry pie", "cinnamon rolls", "popcorn", "noodles"]
_JOBS = ["carpenter", "firefighter", "librarian", "gardener", "blacksmith", "photographer", "detective",
         "architect", "shepherd", "violinist", "juggler", "magician", "sculptor", "tailor", "pilot",
         "veterinarian", "mechanic", "florist", "archaeologist", "beekeeper", "sommelier", "acrobat"]
_ADJ2 = ["weathered", "gleaming", "enormous", "miniature", "translucent", "rusty", "velvet", "wooden",
         "crystalline", "feathery", "mechanical", "ancient", "luminous", "tattered", "polished",
         "iridescent", "fluffy", "jagged", "colossal", "delicate", "abandoned", "bustling", "cozy"]
_SIGNS = ["OPEN", "Café", "Hotel Ω", "No Parking", "EXIT", "24/7", "Bäckerei", "ПЕКАРНЯ"]


_SYLLABLES = ["ka", "lo", "mi", "ren", "tha", "vel", "qu", "zor", "ani", "bel", "cor", "dun", "esh", "fal",
              "gri", "hol", "ist", "jun", "kev", "lum", "mor", "nax", "oth", "pel", "ras", "sil", "tor",
              "ulm", "vix", "wen", "yar", "zed", "bra", "cli", "dro", "fen", "gal", "hui", "ix", "oa"]


def _pseudo_names(r: random.Random, n: int) -> list[str]:
    """Invented place/character names: give the unigram trainer enough distinct words for 1000 pieces."""
    names: list[str] = []
    while len(names) < n:
        w = "".join(r.choice(_SYLLABLES) for _ in range(r.randint(2, 4)))
        w = w.capitalize()
        if w not in names:
            names.append(w)
    return names


def make_corpus(n: int = 960) -> list[str]:
    r = random.Random(CORPUS_SEED)
    names = _pseudo_names(random.Random(CORPUS_SEED + 1), 600)
    out: list[str] = []
    seen = set()
    templates = [
        lambda: f"{r.choice(_SUBJECTS).capitalize()} {r.choice(_ACTIONS)} {r.choice(_PLACES)} "
                f"{r.choice(_TIMES)}. {r.choice(_CAMERA)} {r.choice(_STYLES)}",
        lambda: f"{r.choice(_CAMERA)} {r.choice(_SUBJECTS).capitalize()} {r.choice(_ACTIONS)} "
                f"{r.choice(_PLACES)}, {r.choice(_TIMES)}.",
        lambda: f"Close-up of {r.choice(_SUBJECTS)} {r.choice(_TIMES)}; {r.randint(2, 999)} "
                f"{r.choice(_THINGS)} in the background. {r.choice(_STYLES)}",
        lambda: f"A {r.choice(_ADJ)} scene: {r.choice(_SUBJECTS)} {r.choice(_ACTIONS)} "
                f"{r.choice(_PLACES)}. {r.choice(_CAMERA)}",
        lambda: f"What if {r.choice(_SUBJECTS)} {r.choice(_ACTIONS)} {r.choice(_PLACES)}? "
                f"{r.choice(_CAMERA)}",
        lambda: f"A sign reads \"{r.choice(_SIGNS)}\" while {r.choice(_SUBJECTS)} {r.choice(_ACTIONS)} "
                f"{r.choice(_PLACES)} - {r.choice(_TIMES)}.",
        lambda: f"{r.randint(1, 12)}.{r.randint(0, 9)} seconds of {r.choice(_SUBJECTS)} "
                f"{r.choice(_ACTIONS)} {r.choice(_PLACES)} (take #{r.randint(1, 40)}).",
        lambda: f"{r.choice(_MOODS)} shot of a {r.choice(_COLORS)} {r.choice(_NOUNS)} {r.choice(_VERBS)} "
                f"{r.choice(_TIMES)}. {r.choice(_CAMERA)}",
        lambda: f"A {r.choice(_COLORS)} {r.choice(_NOUNS)} and a {r.choice(_COLORS)} {r.choice(_NOUNS)}, "
                f"both {r.choice(_VERBS)}; {r.choice(_MOODS).lower()} mood, {r.randint(2, 60)} fps!",
        lambda: f"A {r.choice(_ADJ2)} {r.choice(_ANIMALS)} watches a {r.choice(_JOBS)} prepare "
                f"{r.choice(_FOODS)} in a {r.choice(_ADJ2)} {r.choice(_NOUNS)}. {r.choice(_CAMERA)}",
        lambda: f"The {r.choice(_JOBS)} and the {r.choice(_ANIMALS)} share {r.choice(_FOODS)} "
                f"{r.choice(_TIMES)} - {r.choice(_ADJ2)}, {r.choice(_COLORS)}, {r.choice(_MOODS).lower()}.",
        lambda: f"Welcome to {r.choice(names)}, where {r.choice(_SUBJECTS)} {r.choice(_ACTIONS)} "
                f"{r.choice(_PLACES)}. {r.choice(_CAMERA)}",
        lambda: f"{r.choice(names)} and {r.choice(names)} meet a {r.choice(_ADJ2)} {r.choice(_ANIMALS)} "
                f"near the {r.choice(names)} {r.choice(_NOUNS)}, {r.choice(_TIMES)}.",
        lambda: f"{r.choice(_MOODS)}: {r.choice(_SUBJECTS)} near the {r.choice(_NOUNS)} "
                f"{r.choice(_VERBS)}, {r.choice(_COLORS)} and {r.choice(_COLORS)} tones. {r.choice(_STYLES)}",
    ]
    while len(out) < n:
        s = r.choice(templates)().strip()
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def hostile_inputs(corpus: list[str]) -> list[tuple[str, str]]:
    long = ""
    i = 0
    while len(long) < 10000:
        long += corpus[i % len(corpus)] + " "
        i += 1
    long = long[:10000]
    return [
        ("empty", ""),
        ("only_spaces", "     "),
        ("only_whitespace_mixed", " \t\n \r\n\u00a0 "),
        ("long_10000_chars", long),
        ("emoji", "A cat \U0001F408 wearing sunglasses \U0001F60E surfs a wave \U0001F30A\U0001F3C4\u200d\u2642\ufe0f at sunset \U0001F305"),
        ("mixed_scripts", "\u4e1c\u4eac\u7684\u591c\u665a \u0644\u064a\u0644\u0629 \u0641\u064a \u0627\u0644\u0642\u0627\u0647\u0631\u0629 "
                          "\u041d\u043e\u0447\u044c \u0432 \u041c\u043e\u0441\u043a\u0432\u0435 and a night in Paris"),
        ("control_chars", "camera\tpans\nleft\x01 then\x7f right\x00 end"),
        ("html_amp_amp", "Tom &amp;amp; Jerry run &amp; jump"),
        ("html_tags_escaped", "&lt;b&gt;bold&lt;/b&gt; text and &lt;i&gt;italic&lt;/i&gt;"),
        ("html_misc", "&quot;quoted&quot; &#39;single&#39; caf&eacute; &#x1F600; a&nbsp;b &copy; 2024"),
        ("special_token_literals", "a </s> b <pad> c <unk> d <extra_id_0> e"),
        ("mojibake", "cafÃ© au lait; The Mona Lisa doesnâ€™t have eyebrows."),
        ("zero_width_nbsp", "zero\u200bwidth\u00a0nbsp\u3000ideographic\u2003em space"),
        ("unicode_normalisation", "e\u0301 vs \u00e9, \uff21\uff22\uff23\uff11\uff12\uff13, \ufb01sh, \u2460\u2461, \u00bd"),
        ("padded", "   padded prompt with   inner   spaces   "),
        ("accented", "Cr\u00e8me br\u00fbl\u00e9e in Z\u00fcrich, na\u00efve fa\u00e7ade, \u00c5lesund, S\u00e3o Paulo"),
        ("long_word", "a" * 600),
        ("digits_symbols", "1234567890 3.14159 1/2 50% $9.99 #hashtag @user ~tilde^caret |pipe| \\backslash"),
        ("out_of_vocab_chars", "\u16a0\u16a2\u16a6 \U0001D49C\U0001D4B7 \u2603 \u0e01\u0e02"),
    ]


def train_spm(corpus: list[str], out_file: Path) -> None:
    import sentencepiece as spm

    spm.set_random_generator_seed(1234)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_writer=buf, model_type="unigram", vocab_size=SPM_VOCAB,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
        num_threads=1, character_coverage=1.0, byte_fallback=False, normalization_rule_name="nmt_nfkc",
        shuffle_input_sentence=False, hard_vocab_limit=True, minloglevel=2,
    )
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_bytes(buf.getvalue())


def build_hf_tokenizer(spiece: Path, workdir: Path):
    from transformers import T5Tokenizer

    src = workdir / "_spm_src"
    src.mkdir(parents=True, exist_ok=True)
    shutil.copy(spiece, src / "spiece.model")
    tok = T5Tokenizer.from_pretrained(str(src), extra_ids=EXTRA_IDS)
    shutil.rmtree(src)
    assert tok.pad_token_id == 0 and tok.eos_token_id == 1 and tok.unk_token_id == 2, "special ids"
    assert len(tok) == SPM_VOCAB + EXTRA_IDS, len(tok)
    return tok


def save_tokenizer(tok, spiece: Path | None, dest: Path) -> None:
    """Write the HF tokenizer files (+ spiece.model if given) into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    tok.backend_tokenizer.no_truncation()  # see ref_models.save_pipeline
    tok.backend_tokenizer.no_padding()
    tok.save_pretrained(str(dest))
    if spiece is not None and Path(spiece).resolve() != (dest / "spiece.model").resolve():
        shutil.copy(spiece, dest / "spiece.model")


def clean_stages(text: str) -> dict[str, str]:
    """The stages of diffusers' prompt_clean (pipelines/wan/pipeline_wan.py)."""
    import ftfy
    from diffusers.pipelines.wan.pipeline_wan import prompt_clean

    a = ftfy.fix_text(text)
    b = html.unescape(html.unescape(a))
    c = b.strip()
    final = prompt_clean(text)
    return {"after_ftfy": a, "after_html_unescape_x2": b, "after_strip": c, "cleaned": final}


def tokenize_like_pipeline(tok, prompts: list[str], max_len: int = MAX_LEN):
    from diffusers.pipelines.wan.pipeline_wan import prompt_clean

    cleaned = [prompt_clean(p) for p in prompts]
    ti = tok(cleaned, padding="max_length", max_length=max_len, truncation=True, add_special_tokens=True,
             return_attention_mask=True, return_tensors="pt")
    return ti.input_ids, ti.attention_mask


def token_goldens(out_dir: Path, tok, spiece: Path, corpus: list[str]) -> dict:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(spiece))
    gs = GoldenSet(out_dir, "tokenizer", "SentencePiece unigram tokenizer goldens (pipeline-exact ids/masks)")
    groups = {"corpus": [("corpus_%03d" % i, s) for i, s in enumerate(corpus)],
              "hostile": hostile_inputs(corpus)}
    entries = []
    mismatches = []
    for group, items in groups.items():
        ids, mask = tokenize_like_pipeline(tok, [s for _, s in items])
        gs.add("tokens.safetensors", f"ids.{group}", ids)
        gs.add("tokens.safetensors", f"mask.{group}", mask)
        for row, (name, raw) in enumerate(items):
            st = clean_stages(raw)
            n = int(mask[row].sum())
            hf = ids[row, :n].tolist()
            spm_ids = sp.encode(st["cleaned"])
            spm_ref = spm_ids[: MAX_LEN - 1] + [1]
            agree = hf == spm_ref
            if not agree and group == "corpus":
                mismatches.append((name, raw, hf, spm_ref))
            e = {"name": name, "group": group, "row": row, "raw": raw, **st, "seq_len": n,
                 "hf_ids": hf, "spm_ids_plus_eos": spm_ref, "hf_equals_spm": agree}
            if group == "corpus":  # keep the manifest small: ids for corpus live in the tensors only
                del e["hf_ids"], e["spm_ids_plus_eos"]
                for k in ("after_ftfy", "after_html_unescape_x2", "after_strip"):
                    del e[k]
            entries.append(e)
    if mismatches:
        name, raw, hf, sref = mismatches[0]
        raise SystemExit(f"FATAL: transformers tokenizer != SentencePiece+EOS on {len(mismatches)} corpus "
                         f"lines; first {name}: {raw!r}\n HF : {hf}\n SPM: {sref}")
    gs.params = {
        "max_sequence_length": MAX_LEN, "padding": "max_length", "truncation": True,
        "add_special_tokens": True, "pad_id": 0, "eos_id": 1, "unk_id": 2, "bos_id": None,
        "spm_vocab_size": SPM_VOCAB, "extra_ids": EXTRA_IDS, "hf_vocab_size": len(tok),
        "extra_id_token_ids": {f"<extra_id_{i}>": tok.convert_tokens_to_ids(f"<extra_id_{i}>")
                               for i in (0, 1, EXTRA_IDS - 1)},
        "cleaning": "diffusers prompt_clean: ftfy.fix_text -> html.unescape(html.unescape(.)) -> strip -> "
                    "regex \\s+ -> ' ' -> strip (pipelines/wan/pipeline_wan.py)",
        "spm_reference": "sp.encode(cleaned)[:511] + [1] (EOS), then right-pad with 0 to 512; "
                         "mask = 1 on the real tokens incl. EOS",
        "byte_fallback": False,
        "normalization_rule_name": "nmt_nfkc",
        "num_corpus_lines": len(corpus),
        "num_hostile": len(groups["hostile"]),
        "hostile_hf_spm_disagree": [e["name"] for e in entries if not e["hf_equals_spm"]],
    }
    gs.case("tokenize_corpus", "tokenize", "tokens.safetensors", {"strings": "entries[group=corpus]"},
            {"ids": "ids.corpus", "mask": "mask.corpus"})
    gs.case("tokenize_hostile", "tokenize", "tokens.safetensors", {"strings": "entries[group=hostile]"},
            {"ids": "ids.hostile", "mask": "mask.hostile"})
    gs.write(extra={"entries": entries})
    return gs.params


def write_corpus(path: Path, corpus: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(corpus) + "\n", encoding="utf-8")
