"""Tiny-but-structurally-real model definitions and the diffusers-layout model folders.

Every component is built with the real diffusers / transformers class, re-initialised with
`ref_common.reinit_` (normal draws, per-component seed) and written with the library's own
`save_pretrained` (safetensors, fp32). Folder names follow the families in README.md:

  wan21_t2v   WanPipeline                 Wan2.1 VAE (z16, 4x8x8)
  wan21_i2v   WanImageToVideoPipeline     + CLIPVisionModelWithProjection, CLIPImageProcessor,
                                            DiT in_channels 36, image_dim, added_kv_proj_dim
  wan22_ti2v  WanPipeline(expand_timesteps=True)   Wan2.2 VAE (z48, patch 2, residual, 4x16x16)
  wan22_a14b  WanPipeline(boundary_ratio)  transformer (high noise) + transformer_2 (low noise)
  demo        models/rayvid-tiny-ti2v: TI2V layout, sized for 960x544x121 on 2 CPU cores
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from ref_common import reinit_

# ----------------------------------------------------------------------------------------------
# configs
# ----------------------------------------------------------------------------------------------

# umT5 encoder: real = d_model 4096, d_kv 64, heads 64, d_ff 10240, 24 layers, vocab 256384.
TEXT_CFG = dict(
    vocab_size=1024, d_model=64, d_kv=16, num_heads=4, d_ff=128, num_layers=2, num_decoder_layers=2,
    relative_attention_num_buckets=32, relative_attention_max_distance=128, feed_forward_proj="gated-gelu",
    layer_norm_epsilon=1e-6, dropout_rate=0.1, initializer_factor=1.0, is_encoder_decoder=True,
    pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, tie_word_embeddings=False,
    scalable_attention=True, tokenizer_class="T5Tokenizer", use_cache=True,
)
TEXT_DIM = TEXT_CFG["d_model"]

# CLIP ViT-H/14 vision tower: real = 1280 wide, 32 layers, 16 heads, mlp 5120, 224px / patch 14.
CLIP_CFG = dict(
    hidden_size=48, intermediate_size=96, num_hidden_layers=3, num_attention_heads=3, num_channels=3,
    image_size=56, patch_size=14, projection_dim=32, hidden_act="gelu", layer_norm_eps=1e-5,
    attention_dropout=0.0, initializer_range=0.02, initializer_factor=1.0,
)
CLIP_PROC_CFG = dict(
    do_resize=True, size={"shortest_edge": 56}, resample=3, do_center_crop=True,
    crop_size={"height": 56, "width": 56}, do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
    image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711],
    do_convert_rgb=True,
)

# DiT: heads 3 x head_dim 32 = 96; RoPE split of head_dim 32 = t 12 / h 10 / w 10.
DIT_BASE = dict(
    patch_size=(1, 2, 2), num_attention_heads=3, attention_head_dim=32, in_channels=16, out_channels=16,
    text_dim=TEXT_DIM, freq_dim=256, ffn_dim=192, num_layers=2, cross_attn_norm=True,
    qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=None, added_kv_proj_dim=None,
    rope_max_seq_len=1024, pos_embed_seq_len=None,
)
DIT_I2V = dict(DIT_BASE, in_channels=36, image_dim=CLIP_CFG["hidden_size"], added_kv_proj_dim=96)
DIT_TI2V = dict(DIT_BASE, in_channels=48, out_channels=48)

VAE21_CFG = dict(
    base_dim=12, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
    temperal_downsample=[False, True, True], dropout=0.0,
)  # latents_mean/std, scale factors: class defaults = the real Wan2.1 values

WAN22_LATENTS_MEAN = [
    -0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557, -0.1382, 0.0542, 0.2813, 0.0891,
    0.1570, -0.0098, 0.0375, -0.1825, -0.2246, -0.1207, -0.0698, 0.5109, 0.2665, -0.2108, -0.2158, 0.2502,
    -0.2055, -0.0322, 0.1109, 0.1567, -0.0729, 0.0899, -0.2799, -0.1230, -0.0313, -0.1649, 0.0117, 0.0723,
    -0.2839, -0.2083, -0.0520, 0.3748, 0.0152, 0.1957, 0.1433, -0.2944, 0.3573, -0.0548, -0.1681, -0.0667,
]
WAN22_LATENTS_STD = [
    0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013, 0.8158, 1.0344, 0.5894, 1.0901,
    0.6885, 0.6165, 0.8454, 0.4978, 0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146, 0.8986, 0.5659,
    0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093, 0.5709, 0.6065, 0.6415, 0.4944,
    0.5726, 1.2042, 0.5458, 1.6887, 0.3971, 1.0600, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744,
]
VAE22_REAL_EXTRA = dict(
    z_dim=48, is_residual=True, in_channels=12, out_channels=12, patch_size=2, scale_factor_temporal=4,
    scale_factor_spatial=16, latents_mean=WAN22_LATENTS_MEAN, latents_std=WAN22_LATENTS_STD,
    dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[], temperal_downsample=[False, True, True],
    dropout=0.0,
)
VAE22_CFG = dict(VAE22_REAL_EXTRA, base_dim=12, decoder_base_dim=16)  # real: 160 / 256

# flow_shift per diffusers' scripts/convert_wan_to_diffusers.py: 3.0 (2.1 T2V/I2V, 2.2 A14B), 5.0 TI2V.
SCHED_SHIFT = {"wan21_t2v": 3.0, "wan21_i2v": 3.0, "wan22_ti2v": 5.0, "wan22_a14b": 3.0, "demo": 5.0}
A14B_BOUNDARY = 0.875  # real Wan2.2 T2V-A14B value; with 4 steps / shift 3.0 it switches after step 1

# Demo (models/rayvid-tiny-ti2v): smaller DiT/VAE so 960x544x121 (15,810 tokens) is cheap on CPU.
DEMO_DIT = dict(DIT_TI2V, num_attention_heads=2, attention_head_dim=32, ffn_dim=128)
DEMO_VAE = dict(VAE22_REAL_EXTRA, base_dim=8, decoder_base_dim=4)

FAMILIES = ("wan21_t2v", "wan21_i2v", "wan22_ti2v", "wan22_a14b")


# ----------------------------------------------------------------------------------------------
# builders
# ----------------------------------------------------------------------------------------------

def make_text_encoder(seed_name: str = "text_encoder"):
    from transformers import UMT5Config, UMT5EncoderModel

    cfg = UMT5Config(**TEXT_CFG)
    cfg.architectures = ["UMT5EncoderModel"]
    m = UMT5EncoderModel(cfg).eval()
    reinit_(m, seed_name, overrides={"SelfAttention.q.weight": (TEXT_CFG["d_model"] * TEXT_CFG["d_kv"]) ** -0.5})
    return m


def make_clip(seed_name: str = "image_encoder"):
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    m = CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP_CFG)).eval()
    reinit_(m, seed_name)
    return m


def make_clip_processor():
    from transformers import CLIPImageProcessor

    return CLIPImageProcessor(**copy.deepcopy(CLIP_PROC_CFG))


def make_dit(cfg: dict, seed_name: str):
    from diffusers import WanTransformer3DModel

    m = WanTransformer3DModel(**cfg).eval()
    reinit_(m, seed_name)
    return m


def make_vae(cfg: dict, seed_name: str):
    from diffusers import AutoencoderKLWan

    m = AutoencoderKLWan(**copy.deepcopy(cfg)).eval()
    reinit_(m, seed_name, weight_gain=0.8)
    return m


def make_scheduler(shift: float):
    from diffusers import UniPCMultistepScheduler

    return UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                   num_train_timesteps=1000, flow_shift=shift)


def build_pipeline(family: str, tok):
    """Construct the pipeline object for a family (random tiny weights)."""
    from diffusers import WanImageToVideoPipeline, WanPipeline

    te = make_text_encoder()  # same text encoder weights for every family (shared tokenizer too)
    sched = make_scheduler(SCHED_SHIFT[family])
    if family == "wan21_t2v":
        return WanPipeline(tokenizer=tok, text_encoder=te, vae=make_vae(VAE21_CFG, "vae21"), scheduler=sched,
                           transformer=make_dit(DIT_BASE, "wan21_t2v/transformer"))
    if family == "wan21_i2v":
        return WanImageToVideoPipeline(
            tokenizer=tok, text_encoder=te, vae=make_vae(VAE21_CFG, "vae21"), scheduler=sched,
            image_processor=make_clip_processor(), image_encoder=make_clip(),
            transformer=make_dit(DIT_I2V, "wan21_i2v/transformer"))
    if family == "wan22_ti2v":
        return WanPipeline(tokenizer=tok, text_encoder=te, vae=make_vae(VAE22_CFG, "vae22"), scheduler=sched,
                           transformer=make_dit(DIT_TI2V, "wan22_ti2v/transformer"), expand_timesteps=True)
    if family == "wan22_a14b":
        return WanPipeline(tokenizer=tok, text_encoder=te, vae=make_vae(VAE21_CFG, "vae21"), scheduler=sched,
                           transformer=make_dit(DIT_BASE, "wan22_a14b/transformer_high_noise"),
                           transformer_2=make_dit(DIT_BASE, "wan22_a14b/transformer_2_low_noise"),
                           boundary_ratio=A14B_BOUNDARY)
    if family == "demo":
        return WanPipeline(tokenizer=tok, text_encoder=te, vae=make_vae(DEMO_VAE, "demo/vae"), scheduler=sched,
                           transformer=make_dit(DEMO_DIT, "demo/transformer"), expand_timesteps=True)
    raise KeyError(family)


def save_pipeline(pipe, dest: Path, spiece: Path) -> None:
    import shutil

    if dest.exists() and any(dest.iterdir()):
        if not (dest / "model_index.json").is_file():
            raise SystemExit(f"refusing to replace {dest}: not empty and not a diffusers model folder")
        shutil.rmtree(dest)
    # a `tokenizers` backend remembers the padding/truncation of its last call and save_pretrained would
    # write them into tokenizer.json; reset so the file is the same however the tokenizer was used before
    pipe.tokenizer.backend_tokenizer.no_truncation()
    pipe.tokenizer.backend_tokenizer.no_padding()
    pipe.save_pretrained(str(dest), safe_serialization=True)
    shutil.copy(spiece, dest / "tokenizer" / "spiece.model")  # hub diffusers repos ship it too


def load_pipeline(family: str, folder: Path, dtype=torch.float32):
    from diffusers import WanImageToVideoPipeline, WanPipeline

    cls = WanImageToVideoPipeline if family == "wan21_i2v" else WanPipeline
    pipe = cls.from_pretrained(str(folder), dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe
