"""Reference fixtures for tests/emu-model/: the Wan DiT at the real head dims (128 and 64), whose
attention the `emu` backend runs through rayvid's flash-attention kernel on the CPU emulator (the
kernel covers head_dim 64 and 128 only; the wan_dit extras use 32). Deterministic, single-threaded,
CPU; a few seconds. Writes <out>/golden_extra/emu_model/:
  models/<name>/transformer/   tiny WanTransformer3DModel checkpoints (save_pretrained, fp32):
      d128: 1 head x head_dim 128, 1 layer;  d64: 2 heads x head_dim 64, 2 layers (dim 128 both)
  manifest.json + <name>.safetensors
      one case per model: inputs (batch 2, latent 3x10x18 = 135 tokens: more than one kernel tile
      and not a multiple of it; 512 text tokens) and the bf16 output of one forward (diffusers
      loaded with dtype=bfloat16, inputs cast to bf16, as the wan_dit extras). `model_dir` is
      relative to <out>.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from extra_wan_dit import cli, BF16, TEXT_DIM, Golden, _inputs, reinit_

EXTRA = "golden_extra/emu_model"

_BASE = dict(patch_size=[1, 2, 2], in_channels=16, out_channels=16, text_dim=TEXT_DIM, freq_dim=256,
             ffn_dim=256, cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=None,
             added_kv_proj_dim=None, rope_max_seq_len=1024, pos_embed_seq_len=None)
MODELS = {
    "d128": dict(_BASE, num_attention_heads=1, attention_head_dim=128, num_layers=1),
    "d64": dict(_BASE, num_attention_heads=2, attention_head_dim=64, num_layers=2),
}
SIZE = (3, 10, 18)  # latent (T, H, W): 3 x 5 x 9 = 135 tokens after the 1x2x2 patches
TIMESTEPS = [613, 245]  # one per batch row


def make(out_dir: Path) -> None:
    """Writes <out_dir>/golden_extra/emu_model/ (deterministic; replaces what was there)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    from diffusers import WanTransformer3DModel

    root = out_dir / EXTRA
    shutil.rmtree(root, ignore_errors=True)
    golden = Golden()
    for name, cfg in MODELS.items():
        folder = root / "models" / name / "transformer"
        model = WanTransformer3DModel(**cfg).eval()
        reinit_(model, f"emu_model/{name}")
        model.save_pretrained(str(folder), safe_serialization=True)
        m16 = WanTransformer3DModel.from_pretrained(str(folder), dtype=BF16).eval()
        file = f"{name}.safetensors"
        inp = _inputs("emu_model", f"emu_model/{name}", cfg, SIZE)
        ts = torch.tensor(TIMESTEPS)
        with torch.no_grad():
            o16 = m16(hidden_states=inp["hidden_states"].to(BF16), timestep=ts,
                      encoder_hidden_states=inp["encoder_hidden_states"].to(BF16), return_dict=False)[0]
        inputs = {k: golden.add(file, k, v) for k, v in inp.items()}
        inputs["timestep"] = golden.add(file, "timestep", ts)
        golden.cases.append({
            "name": name, "kind": "dit_forward", "file": file, "model_dir": f"{EXTRA}/models/{name}/transformer",
            "inputs": inputs, "outputs": {"output_bf16": golden.add(file, "output_bf16", o16)},
            "params": {"num_attention_heads": cfg["num_attention_heads"],
                       "attention_head_dim": cfg["attention_head_dim"], "num_layers": cfg["num_layers"],
                       "latent_size_TxHxW": list(SIZE), "batch": 2, "timesteps": TIMESTEPS}})
    golden.write(root, "emu_model", "WanTransformer3DModel bf16 forwards at head_dim 128 and 64 "
                 "(scripts/reference/extra_emu_model.py)", "scripts/reference/extra_emu_model.py",
                 params={"bf16": "WanTransformer3DModel.from_pretrained(dtype=bfloat16), floating inputs cast to bf16"})
    print(f"extra_emu_model: {len(golden.cases)} DiT cases in {root}")


def main() -> None:
    cli(make, __doc__)


if __name__ == "__main__":
    main()
