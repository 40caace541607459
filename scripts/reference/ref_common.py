"""Shared helpers for the rayvid Python reference harness (scripts/reference/).

* determinism setup (single thread, offline, fixed seeds derived from stable names),
* weight re-initialisation of freshly built diffusers/transformers modules,
* `GoldenSet`: collects named tensors into safetensors files and writes the per-family
  `manifest.json` (schema documented in scripts/reference/README.md),
* small utilities (sha256 of a tree, tensor stats, JSON writing with sorted keys).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import zlib
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

SCHEMA_VERSION = 1
REPO_ROOT = Path(__file__).resolve().parents[2]


def setup_determinism() -> None:
    """Single-threaded CPU torch; every random draw below uses an explicit seed."""
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set (e.g. called twice in one process)
        pass
    torch.manual_seed(0)
    import diffusers.utils.logging as dlog
    import transformers.utils.logging as tlog

    dlog.set_verbosity_error()
    dlog.disable_progress_bar()
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()


def seed_of(name: str) -> int:
    """Stable per-name seed (crc32), so adding a golden never shifts another's randomness."""
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def gen(name: str) -> torch.Generator:
    g = torch.Generator("cpu")
    g.manual_seed(seed_of(name))
    return g


def randn(name: str, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=gen(name), dtype=torch.float32) * scale


# --------------------------------------------------------------------------------------------
# weight re-initialisation
# --------------------------------------------------------------------------------------------

def reinit_(module: torch.nn.Module, name: str, overrides: dict[str, float] | None = None,
            weight_gain: float = 1.0) -> None:
    """Redraw every parameter of `module` from a normal distribution (deterministic per `name`).

    Rules (first match wins; `overrides` maps a parameter-name substring to a weight std):
      * scale of a norm module (LayerNorm / RMSNorm / UMT5LayerNorm / WanRMS_norm `gamma`): N(1, 0.1^2)
      * biases (incl. norm biases):                               N(0, 0.05^2)
      * `scale_shift_table` (DiT modulation):                     N(0, 0.1^2)
      * UMT5 relative attention bias table:                       N(0, 0.5^2)
      * nn.Embedding tables (token embedding; CLIP position):     N(0, 1) resp. N(0, 0.5^2)
      * CLIP class embedding, image pos_embed:                    N(0, 0.5^2)
      * every other weight (Linear, Conv):                        N(0, gain^2/fan_in), fan_in = prod(shape[1:])
        (gain 1, the VAEs use 0.8: deep causal residual stacks otherwise drift into the [-1,1] clamp)
    diffusers' constructors leave VAE gammas at ones and DiT/CLIP tables at plain randn; redrawing
    everything makes every parameter matter (no identity norms, no zero biases).
    """
    g = gen("reinit/" + name)
    overrides = overrides or {}
    norm_params, emb_params = set(), {}
    for mname, m in module.named_modules():
        cls = type(m).__name__.lower()
        prefix = (mname + ".") if mname else ""
        if "norm" in cls:
            for pn, _ in m.named_parameters(recurse=False):
                if pn != "bias":
                    norm_params.add(prefix + pn)
        if isinstance(m, torch.nn.Embedding):
            emb_params[prefix + "weight"] = 0.5 if "position" in mname else 1.0
    with torch.no_grad():
        for pname, p in sorted(module.named_parameters(), key=lambda kv: kv[0]):
            leaf = pname.rsplit(".", 1)[-1]
            mean = 0.0
            std = next((s for k, s in overrides.items() if k in pname), None)
            if std is not None:
                pass
            elif pname in norm_params:
                mean, std = 1.0, 0.1
            elif leaf == "bias":
                std = 0.05
            elif leaf == "scale_shift_table":
                std = 0.1
            elif "relative_attention_bias" in pname:
                std = 0.5
            elif pname in emb_params:
                std = emb_params[pname]
            elif "class_embedding" in pname or "pos_embed" in pname:
                std = 0.5
            elif p.ndim >= 2:
                std = weight_gain / math.sqrt(int(math.prod(p.shape[1:])))
            else:
                std = 0.1
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float32).to(p.dtype) * std + mean)


# --------------------------------------------------------------------------------------------
# golden files + manifest
# --------------------------------------------------------------------------------------------

def _dtype_name(t: torch.Tensor) -> str:
    return str(t.dtype).replace("torch.", "")


class GoldenSet:
    """Named tensors grouped into safetensors files + a manifest.json describing them.

    add(file, name, tensor): floating tensors are stored as float32 (bf16 results are upcast and
    carry a `_bf16` suffix in their name); integer tensors keep their dtype (int64).
    case(...): a logical test case (inputs/outputs are tensor names, params free-form JSON).
    """

    def __init__(self, root: Path, family: str, description: str):
        self.root = Path(root)
        self.family = family
        self.description = description
        self.files: dict[str, dict[str, torch.Tensor]] = {}
        self.cases: list[dict[str, Any]] = []
        self.params: dict[str, Any] = {}
        self.where: dict[str, str] = {}

    def add(self, file: str, name: str, t: torch.Tensor) -> str:
        t = t.detach().cpu()
        if t.is_floating_point():
            t = t.to(torch.float32)
        t = t.contiguous().clone()
        bucket = self.files.setdefault(file, {})
        if name in bucket:
            raise KeyError(f"duplicate golden tensor {file}:{name}")
        if name in self.where:
            raise KeyError(f"tensor name {name} already used in {self.where[name]}")
        bucket[name] = t
        self.where[name] = file
        return name

    def case(self, name: str, kind: str, file: str, inputs: dict[str, Any], outputs: dict[str, Any],
             params: dict[str, Any] | None = None) -> None:
        self.cases.append({"name": name, "kind": kind, "file": file, "inputs": inputs, "outputs": outputs,
                           "params": params or {}})

    def write(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        import diffusers
        import transformers

        out = self.root
        out.mkdir(parents=True, exist_ok=True)
        files_meta = []
        for fname in sorted(self.files):
            tensors = self.files[fname]
            save_file(tensors, str(out / fname), metadata={"format": "pt"})
            files_meta.append({
                "file": fname,
                "tensors": [{"name": k, "shape": list(v.shape), "dtype": _dtype_name(v)}
                            for k, v in sorted(tensors.items())],
            })
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "family": self.family,
            "description": self.description,
            "generator": {
                "script": "scripts/reference/make_fixtures.py",
                "torch": torch.__version__.split("+")[0],
                "diffusers": diffusers.__version__,
                "transformers": transformers.__version__,
                "threads": 1,
            },
            "params": self.params,
            "files": files_meta,
            "cases": self.cases,
        }
        if extra:
            manifest.update(extra)
        write_json(out / "manifest.json", manifest)
        return manifest


def _sanitize(obj: Any) -> Any:
    """JSON has no inf/nan: store them as the strings "inf", "-inf", "nan"."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {k: _sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_sanitize(v) for v in obj]
    return obj


def write_json(path: Path, obj: Any) -> None:
    obj = _sanitize(obj)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=True, sort_keys=False, allow_nan=False)
        f.write("\n")


def sha256_tree(root: Path) -> dict[str, str]:
    root = Path(root)
    res = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            res[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return res


def tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())


def stats(t: torch.Tensor) -> str:
    t = t.detach().float()
    return f"mean={t.mean():+.3f} std={t.std():.3f} absmax={t.abs().max():.3f} shape={list(t.shape)}"
