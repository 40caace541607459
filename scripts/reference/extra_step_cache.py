"""Reference fixtures for step caching (tests/pipeline/step_cache_test.cpp): guided runs of the tiny
Wan2.1 T2V pipeline in fp32 with MagCache (diffusers' own hook, transformer.enable_cache(
MagCacheConfig(...))) and with TeaCache (the algorithm of ali-vilab/TeaCache TeaCache4Wan2.1,
applied here to diffusers' WanTransformer3DModel: per branch, rel L1 change of the timestep
embedding temb (`e`) or timestep_proj (`e0`), poly(rel) accumulated, the blocks skipped while the
sum stays below the threshold and their cached residual added instead). Deterministic,
single-threaded, CPU; a few seconds. Needs <out>/models/wan21_t2v (make_fixtures.py writes it
first). Writes <out>/golden_extra/step_cache/:
  manifest.json + runs.safetensors
      per case: the latents after every step, and which steps ran the blocks (per branch: cond and
      uncond decide alike here); the settings (method, table, threshold, mode, K, retention, the
      ratios as diffusers was given them after its nearest_interp).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch

from extra_wan_dit import cli, Golden

EXTRA = "golden_extra/step_cache"
PROMPT = "A red fox runs along a misty pine forest at sunrise."
NEGATIVE = "blurry, low quality"
SEED = 7
SIZE = dict(height=48, width=64, num_frames=5)
STEPS = 10

# The published tables (t2v-1.3b): TeaCache4Wan2.1 coefficients and the conditional branch's
# MagCache4Wan2.1 ratios (every second entry of its interleaved array).
TEACACHE_E = [2.39676752e+03, -1.31110545e+03, 2.01331979e+02, -8.29855975e+00, 1.37887774e-01]
TEACACHE_E0 = [-5.21862437e+04, 9.23041404e+03, -5.28275948e+02, 1.36987616e+01, -4.99875664e-02]
MAG_1_3B = [1, 1.0124, 1.00166, 0.99791, 0.99682, 0.99634, 0.99567, 0.99416, 0.99578, 0.9957, 0.99511, 0.99535,
            0.99552, 0.99541, 0.9954, 0.99489, 0.99518, 0.99484, 0.99481, 0.99415, 0.99419, 0.99396, 0.99388,
            0.99349, 0.99309, 0.9927, 0.99228, 0.99171, 0.99137, 0.99068, 0.99005, 0.98944, 0.98849, 0.98758,
            0.98644, 0.98504, 0.9836, 0.98202, 0.97977, 0.97717, 0.9741, 0.97003, 0.96538, 0.9593, 0.95086,
            0.94013, 0.92402, 0.90241, 0.86821, 0.81838]


class TeaCacheBlocks(torch.nn.Module):
    """Stands in for transformer.blocks: one pass that runs every block, or adds the residual the
    blocks added at the last pass that ran them (per branch, as TeaCache4Wan2.1's even/odd calls)."""

    def __init__(self, blocks, state):
        super().__init__()
        self.inner = blocks
        self.state = state

    def __iter__(self):
        yield self._step

    def __len__(self):
        return 1

    def _step(self, hidden_states, *args, **kwargs):
        st = self.state
        branch = st["cnt"] % 2
        if st["run"][branch]:
            x = hidden_states
            for block in self.inner:
                x = block(x, *args, **kwargs)
            st["residual"][branch] = x - hidden_states
            return x
        return hidden_states + st["residual"][branch]


def _teacache(transformer, threshold: float, e0_mode: bool, steps: int) -> dict:
    coefficients = TEACACHE_E0 if e0_mode else TEACACHE_E
    state = {"cnt": 0, "run": [True, True], "residual": [None, None], "acc": [0.0, 0.0],
             "prev": [None, None], "log": [[], []]}
    ret_steps = (5 if e0_mode else 1) * 2
    cutoff = steps * 2 if e0_mode else steps * 2 - 2
    rescale = np.poly1d(coefficients)
    embedder = transformer.condition_embedder
    orig = embedder.forward

    def decide(*a, **k):
        out = orig(*a, **k)
        temb, timestep_proj = out[0], out[1]
        m = (timestep_proj if e0_mode else temb).float()
        b, cnt = state["cnt"] % 2, state["cnt"]
        if cnt < ret_steps or cnt >= cutoff:
            run = True
            state["acc"][b] = 0.0
        else:
            prev = state["prev"][b]
            state["acc"][b] += rescale(((m - prev).abs().mean() / prev.abs().mean()).cpu().item())
            run = not state["acc"][b] < threshold
            if run:
                state["acc"][b] = 0.0
        state["prev"][b] = m.clone()
        state["run"][b] = run
        state["log"][b].append(run)
        return out

    def advance(module, args, kwargs, output):
        state["cnt"] = (state["cnt"] + 1) % (steps * 2)

    embedder.forward = decide
    transformer.blocks = TeaCacheBlocks(transformer.blocks, state)
    transformer.register_forward_hook(advance, with_kwargs=True)
    return state


def _run(pipe, golden: Golden, file: str, name: str) -> dict:
    from diffusers import UniPCMultistepScheduler

    pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config)
    steps = []

    def callback(_p, i, t, kw):
        steps.append(kw["latents"].detach().clone())
        return {}

    with torch.no_grad():
        pipe(prompt=PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=5.0,
             generator=torch.Generator("cpu").manual_seed(SEED), output_type="latent",
             callback_on_step_end=callback, callback_on_step_end_tensor_inputs=["latents"], **SIZE)
    return {f"step{i}.latents": golden.add(file, f"{name}.step{i}.latents", lat) for i, lat in enumerate(steps)}


def make(out_dir: Path) -> None:
    """Writes <out_dir>/golden_extra/step_cache/ (deterministic; replaces what was there)."""
    torch.set_num_threads(1)
    from diffusers import WanPipeline
    from diffusers.hooks import MagCacheConfig
    from diffusers.hooks.mag_cache import MagCacheHeadHook

    root = out_dir / EXTRA
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    golden = Golden()
    file = "runs.safetensors"
    folder = out_dir / "models" / "wan21_t2v"

    def load():
        pipe = WanPipeline.from_pretrained(str(folder))
        pipe.set_progress_bar_config(disable=True)
        return pipe

    cases = []
    pipe = load()
    cases.append({"name": "uncached", "settings": None, "outputs": _run(pipe, golden, file, "uncached")})

    # MagCache through diffusers' hook; its decisions read off the head hook per call.
    for name, threshold, k, retention in (("magcache", 0.04, 3, 0.2), ("magcache_k1", 0.5, 1, 0.0)):
        pipe = load()
        config = MagCacheConfig(threshold=threshold, max_skip_steps=k, retention_ratio=retention,
                                num_inference_steps=STEPS, mag_ratios=MAG_1_3B)
        log = []
        orig = MagCacheHeadHook.new_forward

        def logged(self, module, *a, **kw):
            out = orig(self, module, *a, **kw)
            log.append(bool(self.state_manager.get_state().should_compute))
            return out

        MagCacheHeadHook.new_forward = logged  # before enable_cache, which binds the hook's method
        try:
            pipe.transformer.enable_cache(config)
            outputs = _run(pipe, golden, file, name)
        finally:
            MagCacheHeadHook.new_forward = orig
        assert len(log) == 2 * STEPS, len(log)
        cond, uncond = log[0::2], log[1::2]
        assert cond == uncond, (cond, uncond)
        cases.append({"name": name, "outputs": outputs, "steps_run": cond,
                      "settings": {"method": "magcache", "table": "t2v-1.3b", "threshold": threshold,
                                   "max_skip_steps": k, "retention_ratio": retention,
                                   "mag_ratios_interpolated": [float(x) for x in config.mag_ratios]}})

    # FirstBlockCache through diffusers' hook: decided per context (cond, uncond) from the data, so
    # the two may differ; the tiny DiT's first-block residual moves by 0.75-1.4 per step.
    from diffusers.hooks import FirstBlockCacheConfig
    from diffusers.hooks.first_block_cache import FBCHeadBlockHook
    for name, threshold in (("fbcache", 0.905), ("fbcache_high", 1.0)):
        pipe = load()
        log = []
        orig = FBCHeadBlockHook.new_forward

        def logged(self, module, *a, **kw):
            out = orig(self, module, *a, **kw)
            log.append(bool(self.state_manager.get_state().should_compute))
            return out

        FBCHeadBlockHook.new_forward = logged
        try:
            pipe.transformer.enable_cache(FirstBlockCacheConfig(threshold=threshold))
            outputs = _run(pipe, golden, file, name)
        finally:
            FBCHeadBlockHook.new_forward = orig
        assert len(log) == 2 * STEPS, len(log)
        cond, uncond = log[0::2], log[1::2]
        assert not all(cond) and any(cond[1:]), (name, cond)
        cases.append({"name": name, "outputs": outputs, "steps_run": [c or u for c, u in zip(cond, uncond)],
                      "cond_run": cond, "uncond_run": uncond,
                      "settings": {"method": "fbcache", "threshold": threshold}})

    # TeaCache, both modes; thresholds where the tiny model's embeddings give some skips.
    # The tiny DiT's random time MLP changes its embedding far more per step than a trained one
    # (rel ~1 instead of ~0.05), so poly(rel) is in the thousands (e) or negative (e0).
    for name, threshold, e0 in (("teacache_e", 3000.0, False), ("teacache_e0", 2.0e4, True)):
        pipe = load()
        state = _teacache(pipe.transformer, threshold, e0, STEPS)
        outputs = _run(pipe, golden, file, name)
        cond, uncond = state["log"]
        assert len(cond) == STEPS and cond == uncond, (cond, uncond)
        assert not all(cond), f"{name}: no step skipped at threshold {threshold}; raise it"
        cases.append({"name": name, "outputs": outputs, "steps_run": cond,
                      "settings": {"method": "teacache", "table": "t2v-1.3b", "threshold": threshold,
                                   "teacache_e0": e0}})

    golden.cases = cases
    golden.write(root, "step_cache", "tiny Wan2.1 T2V, fp32, guided UniPC, with MagCache and FirstBlockCache "
                 "(diffusers hooks) and TeaCache (TeaCache4Wan2.1's algorithm) "
                 "(scripts/reference/extra_step_cache.py)", "scripts/reference/extra_step_cache.py",
                 params=dict(SIZE, prompt=PROMPT, negative_prompt=NEGATIVE, seed=SEED, steps=STEPS,
                             guidance_scale=5.0, model="models/wan21_t2v"))
    print(f"extra_step_cache: {len(cases)} runs in {root}: " +
          ", ".join(f"{c['name']} {sum(c['steps_run'])}/{STEPS}" for c in cases if "steps_run" in c) +
          "; fbcache rows differ at steps " + str([[i for i, (a, b) in enumerate(zip(c["cond_run"], c["uncond_run"]))
                                                  if a != b] for c in cases if "cond_run" in c]))


def main() -> None:
    cli(make, __doc__)


if __name__ == "__main__":
    main()
