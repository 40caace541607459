"""Real-architecture config.json + state_dict name/shape lists, built on the meta device (no weights).

One JSON per component in <out>/meta_shapes/: {"component", "class", "source", "config", "num_params",
"tensors": [{"name", "shape"}, ...]} with the tensors in state_dict order. `config` is what the
library writes as config.json for that class (diffusers `save_config` / transformers
`save_pretrained`), i.e. what a downloaded *-Diffusers folder holds (modulo `_name_or_path`-like
bookkeeping keys). Config values: Wan-AI repos via diffusers' scripts/convert_wan_to_diffusers.py,
google/umt5-xxl, laion/CLIP-ViT-H-14-laion2B-s32B-b79K (see README.md for the caveats).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch

from ref_common import write_json
from ref_models import VAE22_REAL_EXTRA

_DIT_COMMON = dict(patch_size=[1, 2, 2], attention_head_dim=128, text_dim=4096, freq_dim=256, cross_attn_norm=True,
                   qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024)

DIT_REAL = {
    "wan21_t2v_1.3b_transformer": dict(_DIT_COMMON, num_attention_heads=12, ffn_dim=8960, num_layers=30,
                                       in_channels=16, out_channels=16),
    "wan21_t2v_14b_transformer": dict(_DIT_COMMON, num_attention_heads=40, ffn_dim=13824, num_layers=40,
                                      in_channels=16, out_channels=16),
    "wan21_i2v_14b_transformer": dict(_DIT_COMMON, num_attention_heads=40, ffn_dim=13824, num_layers=40,
                                      in_channels=36, out_channels=16, image_dim=1280, added_kv_proj_dim=5120),
    "wan22_ti2v_5b_transformer": dict(_DIT_COMMON, num_attention_heads=24, ffn_dim=14336, num_layers=30,
                                      in_channels=48, out_channels=48),
    "wan22_t2v_a14b_expert_transformer": dict(_DIT_COMMON, num_attention_heads=40, ffn_dim=13824, num_layers=40,
                                              in_channels=16, out_channels=16),
    "wan22_i2v_a14b_expert_transformer": dict(_DIT_COMMON, num_attention_heads=40, ffn_dim=13824, num_layers=40,
                                              in_channels=36, out_channels=16),
}

UMT5_XXL = dict(
    vocab_size=256384, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_decoder_layers=24, num_heads=64,
    relative_attention_num_buckets=32, relative_attention_max_distance=128, dropout_rate=0.1,
    layer_norm_epsilon=1e-6, initializer_factor=1.0, feed_forward_proj="gated-gelu", is_encoder_decoder=True,
    use_cache=True, tokenizer_class="T5Tokenizer", tie_word_embeddings=False, pad_token_id=0, eos_token_id=1,
    decoder_start_token_id=0, scalable_attention=True,
)

CLIP_H14_VISION = dict(
    hidden_size=1280, intermediate_size=5120, projection_dim=1024, num_hidden_layers=32, num_attention_heads=16,
    num_channels=3, image_size=224, patch_size=14, hidden_act="gelu", layer_norm_eps=1e-5, attention_dropout=0.0,
    initializer_range=0.02, initializer_factor=1.0,
)


def _tensors(model) -> list[dict]:
    """state_dict names/shapes; a tied alias (same Parameter object) gets "tied_to": <first name>."""
    first: dict[int, str] = {}
    alias: dict[str, str] = {}
    for n, p in model.named_parameters(remove_duplicate=False):
        if id(p) in first:
            alias[n] = first[id(p)]
        else:
            first[id(p)] = n
    res = []
    for k, v in model.state_dict().items():
        e = {"name": k, "shape": list(v.shape)}
        if k in alias:
            e["tied_to"] = alias[k]
        res.append(e)
    return res


def _diffusers_config(model) -> dict:
    with tempfile.TemporaryDirectory() as d:
        model.save_config(d)
        return json.loads((Path(d) / "config.json").read_text())


def _transformers_config(cfg) -> dict:
    with tempfile.TemporaryDirectory() as d:
        cfg.save_pretrained(d)
        return json.loads((Path(d) / "config.json").read_text())


def meta_shapes(out: Path) -> list[str]:
    from diffusers import AutoencoderKLWan, WanTransformer3DModel
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection, UMT5Config, UMT5EncoderModel

    out.mkdir(parents=True, exist_ok=True)
    written = []

    def dump(name: str, cls: str, source: str, config: dict, model) -> None:
        tensors = _tensors(model)
        n = sum(int(torch.Size(t["shape"]).numel()) for t in tensors if "tied_to" not in t)
        write_json(out / f"{name}.json", {"component": name, "class": cls, "source": source, "config": config,
                                          "num_params": n, "tensors": tensors})
        written.append(name)

    src_dit = "Wan-AI *-Diffusers transformer/config.json values (diffusers scripts/convert_wan_to_diffusers.py)"
    for name, cfg in DIT_REAL.items():
        with torch.device("meta"):
            m = WanTransformer3DModel(**cfg)
        dump(name, "WanTransformer3DModel", src_dit, _diffusers_config(m), m)

    with torch.device("meta"):
        v21 = AutoencoderKLWan()
        v22 = AutoencoderKLWan(base_dim=160, decoder_base_dim=256, **VAE22_REAL_EXTRA)
    dump("wan21_vae", "AutoencoderKLWan", "AutoencoderKLWan() defaults = Wan2.1 VAE (Wan2.1_VAE.pth converted)",
         _diffusers_config(v21), v21)
    dump("wan22_vae", "AutoencoderKLWan", "Wan2.2-TI2V-5B-Diffusers vae/config.json values (vae22_diffusers_config "
         "in convert_wan_to_diffusers.py; the hub file also has \"clip_output\": false, unknown to 0.42.1)",
         _diffusers_config(v22), v22)

    ucfg = UMT5Config(**UMT5_XXL)
    ucfg.architectures = ["UMT5EncoderModel"]
    with torch.device("meta"):
        te = UMT5EncoderModel(ucfg)
    dump("umt5_xxl_encoder", "UMT5EncoderModel", "google/umt5-xxl config values (text_encoder/ of Wan *-Diffusers)",
         _transformers_config(ucfg), te)

    ccfg = CLIPVisionConfig(**CLIP_H14_VISION)
    ccfg.architectures = ["CLIPVisionModelWithProjection"]
    with torch.device("meta"):
        ce = CLIPVisionModelWithProjection(ccfg)
    dump("clip_vit_h14_vision", "CLIPVisionModelWithProjection",
         "laion/CLIP-ViT-H-14-laion2B-s32B-b79K vision tower (image_encoder/ of Wan2.1 I2V *-Diffusers)",
         _transformers_config(ccfg), ce)
    return written
