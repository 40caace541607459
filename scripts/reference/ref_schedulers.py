"""Scheduler goldens (golden/schedulers/): sigmas, timesteps and chained step() outputs.

* UniPCMultistepScheduler exactly as the Wan diffusers repos configure it (scheduler_config.json of the
  model folders: flow_prediction, use_flow_sigmas, bh2, order 2, lower_order_final, final_sigmas zero).
* FlowMatchEulerDiscreteScheduler(shift=s) (the class named in the Wan pipelines' type hints).
* DPMSolverMultistepScheduler in flow form (flow_prediction + use_flow_sigmas, dpmsolver++ 2M): NOT used
  by any diffusers Wan config (all ship UniPC); included only because the original Wan repos offer a
  flow DPM++ solver (`--sample_solver dpm++`). Its sigma table differs from Wan's FlowDPMSolver.
Step chains: x_0 = randn; for i: x_{i+1} = step(model_output_i, timesteps[i], x_i) with a fixed random
model_output_i, after scheduler.set_begin_index(0) like WanPipeline.
"""

from __future__ import annotations

from pathlib import Path


from ref_common import GoldenSet, randn

SHIFTS = (3.0, 5.0)
CHAIN_STEPS = 6
TABLE_STEPS = (3, 4, 40, 50)
SAMPLE_SHAPE = (1, 16, 2, 4, 6)


def _make(kind: str, shift: float):
    from diffusers import DPMSolverMultistepScheduler, FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler

    if kind == "unipc":
        return UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                       num_train_timesteps=1000, flow_shift=shift)
    if kind == "euler":
        return FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)
    if kind == "dpmpp":
        return DPMSolverMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                           num_train_timesteps=1000, flow_shift=shift,
                                           algorithm_type="dpmsolver++", solver_order=2, solver_type="midpoint",
                                           lower_order_final=True, final_sigmas_type="zero")
    raise KeyError(kind)


def scheduler_goldens(out: Path) -> None:
    gs = GoldenSet(out, "schedulers", "UniPC / FlowMatchEuler / DPM++ (flow) schedules and chained step() outputs")
    f = "schedulers.safetensors"
    configs = {}
    for kind in ("unipc", "euler", "dpmpp"):
        for shift in SHIFTS:
            tag = f"{kind}.shift{shift:g}"
            configs[tag] = {k: v for k, v in dict(_make(kind, shift).config).items() if not k.startswith("_")}
            for n in TABLE_STEPS:
                s = _make(kind, shift)
                s.set_timesteps(n, device="cpu")
                gs.add(f, f"{tag}.n{n}.sigmas", s.sigmas)
                gs.add(f, f"{tag}.n{n}.timesteps", s.timesteps)
                gs.case(f"{tag}.n{n}.table", "scheduler_table", f, {},
                        {"sigmas": f"{tag}.n{n}.sigmas", "timesteps": f"{tag}.n{n}.timesteps"},
                        {"scheduler": kind, "shift": shift, "num_inference_steps": n,
                         "timesteps_dtype": str(s.timesteps.dtype).replace("torch.", "")})
            s = _make(kind, shift)
            s.set_timesteps(CHAIN_STEPS, device="cpu")
            s.set_begin_index(0)
            x = randn(f"sched/{tag}/x0", *SAMPLE_SHAPE)
            base = f"{tag}.chain"
            gs.add(f, f"{base}.sample_0", x)
            outs = {}
            for i, t in enumerate(s.timesteps):
                mo = randn(f"sched/{tag}/mo{i}", *SAMPLE_SHAPE)
                gs.add(f, f"{base}.model_output_{i}", mo)
                x = s.step(mo, t, x, return_dict=False)[0]
                gs.add(f, f"{base}.prev_sample_{i}", x)
                outs[f"prev_sample_{i}"] = f"{base}.prev_sample_{i}"
            gs.add(f, f"{base}.timesteps", s.timesteps)
            gs.add(f, f"{base}.sigmas", s.sigmas)
            inputs = {"sample_0": f"{base}.sample_0", "timesteps": f"{base}.timesteps", "sigmas": f"{base}.sigmas"}
            inputs.update({f"model_output_{i}": f"{base}.model_output_{i}" for i in range(CHAIN_STEPS)})
            gs.case(base, "scheduler_chain", f, inputs, outs,
                    {"scheduler": kind, "shift": shift, "num_inference_steps": CHAIN_STEPS,
                     "sample_shape": list(SAMPLE_SHAPE),
                     "procedure": "set_timesteps(n); set_begin_index(0); x = sample_0; for i, t in "
                                  "enumerate(timesteps): x = step(model_output_i, t, x).prev_sample"})
    # The step-distill recipe (rayvid --recipe distill-4step): FlowMatchEuler(shift=5) with the given
    # sigmas [1, 0.75, 0.5, 0.25] (denoising_step_list [1000, 750, 500, 250] / 1000), shifted by the
    # scheduler: diffusers' set_timesteps(sigmas=...).
    s = _make("euler", 5.0)
    given = [1.0, 0.75, 0.5, 0.25]
    s.set_timesteps(sigmas=given, device="cpu")
    s.set_begin_index(0)
    base = "euler.shift5.distill4.chain"
    x = randn(f"sched/{base}/x0", *SAMPLE_SHAPE)
    gs.add(f, f"{base}.sample_0", x)
    outs = {}
    for i, t in enumerate(s.timesteps):
        mo = randn(f"sched/{base}/mo{i}", *SAMPLE_SHAPE)
        gs.add(f, f"{base}.model_output_{i}", mo)
        x = s.step(mo, t, x, return_dict=False)[0]
        gs.add(f, f"{base}.prev_sample_{i}", x)
        outs[f"prev_sample_{i}"] = f"{base}.prev_sample_{i}"
    gs.add(f, f"{base}.timesteps", s.timesteps)
    gs.add(f, f"{base}.sigmas", s.sigmas)
    inputs = {"sample_0": f"{base}.sample_0", "timesteps": f"{base}.timesteps", "sigmas": f"{base}.sigmas"}
    inputs.update({f"model_output_{i}": f"{base}.model_output_{i}" for i in range(len(given))})
    gs.case(base, "scheduler_chain", f, inputs, outs,
            {"scheduler": "euler", "shift": 5.0, "num_inference_steps": len(given), "sigmas_given": given,
             "sample_shape": list(SAMPLE_SHAPE),
             "procedure": "set_timesteps(sigmas=sigmas_given); set_begin_index(0); x = sample_0; for i, t "
                          "in enumerate(timesteps): x = step(model_output_i, t, x).prev_sample"})
    gs.params = {
        "configs": configs,
        "used_by_wan_diffusers": {"unipc": True, "euler": False, "dpmpp": False},
        "dpmpp_note": "DPMSolverMultistepScheduler is not referenced by any diffusers Wan pipeline or the "
                      "Wan-AI *-Diffusers scheduler_config.json (all UniPCMultistepScheduler); the original Wan "
                      "repos have their own FlowDPMSolverMultistepScheduler (sigmas from linspace(1, 0, N+1), "
                      "different from diffusers' use_flow_sigmas table). Included as an optional extra.",
        "unipc_table": "sigmas = linspace(1, 1/1000, N+1)[:-1] (float64); sigmas = s*sig/(1+(s-1)*sig); if "
                       "|sigmas[0]-1| < 1e-6: sigmas[0] -= 1e-6; timesteps = int64(sigmas*1000) (truncation); "
                       "sigmas = float32(concat(sigmas, [0]))",
        "euler_table": "init: sigmas over 1..1000/1000 shifted -> sigma_max=1, sigma_min=shift(1/1000); "
                       "set_timesteps: linspace(sigma_max*1000, sigma_min*1000, N)/1000, then shifted AGAIN "
                       "(double shift of the grid, as in diffusers 0.42.1); timesteps = float32 sigmas*1000; "
                       "sigmas += [0]",
    }
    gs.write()
