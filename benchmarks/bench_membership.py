"""Shadow models trained per second for the lm-membership study: the engine's vmapped chunk vs one model
at a time, in one run (Carlini et al., arXiv 2112.03570, Sec. IV: LiRA needs many shadow models, so
their cost is what users of the anchor tools ask about).

The models of the quick scale (``sims/studies/lm_membership``: 2 x 64 x 4 LM, vocabulary 48, context 20,
pool of 512 sequences, batch 32, Adam) with --steps steps each. Methods, measured in the same process and
interleaved round by round by ``benchmarks/harness.py``:
  engine xM   M shadow models (seeds 0..M-1) through ``engine.run_chunk`` (``jit(vmap(run))`` in chunks of
              the engine's width): pool, keep mask, training and the scoring of the whole pool per model;
  loop        the same ``run`` jit'd for one config, called M times from a Python loop (one model at a time).
PyTorch: not installed here, so no torch row (the per-step torch comparison of this LM is bench_lm.py's).
Reported: shadow models per second, ms per step and model, and the engine's ratio to the loop.

    python benchmarks/bench_membership.py            # about 2 minutes on 2 cores
    python benchmarks/bench_membership.py --quick    # 20 steps, two rounds
"""

from __future__ import annotations

import sys
from pathlib import Path

import jax

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

from rote.sims.params import replace  # noqa: E402
from rote.sims.studies.lm_membership import STUDY  # noqa: E402
from rote.sims.studies.lm_membership.scales import quick_scale  # noqa: E402

SECTIONS = ("methods",)


def work_of(p, models: int) -> dict:
    """6 P FLOPs per trained token, 2 P per scored token."""
    return {"flops": float(STUDY.flops_per_config(p)) * models, "configs": models, "steps": p.steps, "models": models}


def engine_method(p, models: int):
    go, work = harness.engine_call(STUDY, [replace(p, seed=s) for s in range(models)])
    return go, {**work, **work_of(p, models)}


def loop_method(p, models: int):
    one = jax.jit(STUDY.run)
    keys = [jax.random.PRNGKey(s) for s in range(models)]
    params = [replace(p, seed=s) for s in range(models)]
    jax.block_until_ready(one(params[0], keys[0]))  # compile

    def go():
        for q, k in zip(params, keys):
            jax.block_until_ready(one(q, k))

    return go, work_of(p, models)


def summarize(name: str, work: dict, samples: list[dict], peak_gflops: float) -> dict:
    r = harness.row(name, work, samples, peak_gflops)
    r.update({"models_per_s": work["models"] / r["wall_s"], "ms_per_step": 1e3 * r["wall_s"] / (work["models"] * work["steps"])})
    return r


def section_methods(args, result) -> dict:
    p = replace(quick_scale().base, steps=args.steps)
    harness.log(f"methods: {args.models} shadow models (2 x 64, pool {p.pool}), {args.steps} steps each; compiling")
    methods = {f"engine x{args.models}": engine_method(p, args.models), "loop": loop_method(p, args.models)}
    sec = harness.measure(methods, args, summarize)
    rows = {r["method"]: r for r in sec["rows"]}
    sec["ratios"] = {"engine / loop (models per s)": rows[f"engine x{args.models}"]["models_per_s"] / rows["loop"]["models_per_s"]}
    sec["torch"] = "torch not installed"
    return sec


def show_methods(sec: dict, result=None) -> None:
    print(f"\n== shadow models of lm-membership: engine chunk vs one model at a time ({sec['torch']})")
    col = harness.col
    harness.table(sec["rows"], [col("method", 14, "{method}", "<"), col("models", 6, "{configs:d}"), col("steps", 5, "{steps:d}"),
                                col("models/s", 9, "{models_per_s:.3f}"), col("ms/step/model", 13, "{ms_per_step:.2f}"), harness.OF_PEAK,
                                *harness.memory_columns()])
    print("   ratios: " + ", ".join(f"{k} {v:.2f}x" for k, v in sec["ratios"].items()))


LEGEND = "models/s = shadow models trained and scored per second; ms/step/model = wall per training step and model"


def main(argv=None) -> dict:
    ap = harness.parser(__doc__, sections=SECTIONS, json_path="bench_out/membership.json", wait_quiet=5.0, wait_budget=30.0,
                        quick="20 steps, two rounds")
    ap.add_argument("--models", type=int, default=4, help="shadow models per method call")
    ap.add_argument("--steps", type=int, default=80, help="training steps per model")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.steps, args.wait_budget = 2, 20, min(args.wait_budget, 10.0)
    return harness.run(args, {"methods": (section_methods, show_methods)}, LEGEND)


if __name__ == "__main__":
    main()
