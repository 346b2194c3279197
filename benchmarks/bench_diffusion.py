"""Side-by-side speed of the small text-to-image diffusion model (t2i-duplication study): training steps and DDIM samples.

The model and data of the quick scale (``sims/studies/t2i_duplication``: 8 x 8 x 3 images, FiLM MLP width 128,
hidden 256, 2 blocks, bag-of-words text encoder, batch 64, T = 200 cosine schedule). Methods, measured in the
same process and interleaved round by round by ``benchmarks/harness.py``:
  engine xC train      C configs through ``engine.run_chunk`` (``jit(vmap(run))``) of a training-only run: the
                       shared ``rote.sims.diffusion.make_train_step`` (weighted row sampling, loss, adamw, EMA)
                       in a ``lax.scan`` of --steps steps; data generation and initialization inside each call;
  loop train           one config: the same step jit'd (carry donated), called from a Python loop;
  engine xC sample     C configs of DDIM sampling (--ddim steps, guidance w = 3, two denoiser passes per step)
                       of --samples samples each, through the engine;
  loop sample          one config's sampling jit'd, called once per config from Python;
  torch                the same model in PyTorch, only when torch is importable (rows say "torch not installed"
                       otherwise; this benchmark then reports the JAX methods alone).
Reported: ms per step and config, training steps/s, DDIM samples/s, and the engine's ratio to the loop.

    python benchmarks/bench_diffusion.py            # about 2 minutes on 2 cores
    python benchmarks/bench_diffusion.py --quick    # fewer steps and rounds
"""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

from rote.sims import diffusion as dm  # noqa: E402
from rote.sims import images as im  # noqa: E402
from rote.sims.params import replace  # noqa: E402
from rote.sims.studies.t2i_duplication import run as study_run  # noqa: E402
from rote.sims.studies.t2i_duplication.data import CAPTION, INSERT_SLOTS, layout, make_data  # noqa: E402
from rote.sims.studies.t2i_duplication.model import build_model, param_count  # noqa: E402
from rote.sims.studies.t2i_duplication.scales import quick_scale  # noqa: E402
from rote.sims.study import Study  # noqa: E402

SECTIONS = ("train", "sample")


def _setup(p, key):
    model = build_model(p)
    data = make_data(p, jax.random.fold_in(key, 0))
    k_init, k_train = jax.random.split(jax.random.fold_in(key, 1))
    variables = dm.init_params(model, k_init, CAPTION)
    opt = dm.optimizer(p.lr, p.steps, p.warmup)
    vocab = len(layout(p).vocab)
    augment = lambda k, cap: im.insert_random_words(k, cap, p.word_insert, vocab, INSERT_SLOTS)  # noqa: E731
    step = dm.make_train_step(model, dm.cosine_schedule(p.diffusion_steps), opt, data["images"], data["row_image"], data["captions"],
                              data["log_m"], p.batch, k_train, p.p_uncond, p.text_noise, p.ema, augment)
    return model, data, variables, opt, step


def train_run(p, key):
    """Training alone: data, initialization, ``p.steps`` steps; returns the mean loss."""
    _, _, variables, opt, step = _setup(p, key)
    _, losses = jax.lax.scan(step, (variables, opt.init(variables), variables, jnp.int32(0)), None, length=p.steps)
    return {"loss": losses.mean()}


def sample_run(p, key):
    """Sampling alone: p.samples samples of the E1 prompts' first caption from freshly initialised weights."""
    model, data, variables, _, _ = _setup(p, key)
    sample = study_run.sampler(p, model, dm.cosine_schedule(p.diffusion_steps))
    x, mag = sample(variables, data["prompts"][:1], p.guidance, jax.random.fold_in(key, 2))
    return {"mean": x.mean() + mag.mean()}


def _study(name, fn, metric):
    return Study(name=name, params_type=type(quick_scale().base), run=fn, scales={}, metric_dims={metric: ()}, coords=lambda p: {},
                 bytes_per_config=study_run.bytes_per_config)


TRAIN_STUDY = _study("t2i-train", train_run, "loss")
SAMPLE_STUDY = _study("t2i-sample", sample_run, "mean")


def params(steps: int, samples: int = 16, ddim: int = 20):
    return replace(quick_scale().base, steps=steps, log_every=steps, warmup=min(200, steps - 1), samples=samples, ddim_steps=ddim)


def train_methods(args) -> dict:
    P = param_count(params(args.steps))
    out = {}
    p = params(args.steps)
    go, work = harness.engine_call(TRAIN_STUDY, [replace(p, seed=s) for s in range(args.configs)])
    out[f"engine x{args.configs} train"] = (go, {**work, "steps": args.steps, "flops": 6.0 * P * p.batch * args.steps * args.configs})
    pl = params(args.loop_steps)
    _, _, variables, opt, step = _setup(pl, jax.random.PRNGKey(0))
    one = jax.jit(lambda carry: step(carry, None)[0], donate_argnums=0)
    fresh = lambda: jax.tree_util.tree_map(jnp.copy, (variables, opt.init(variables), variables, jnp.int32(0)))  # noqa: E731
    jax.block_until_ready(one(fresh()))

    def loop():
        carry = fresh()
        for _ in range(args.loop_steps):
            carry = one(carry)
        jax.block_until_ready(carry)

    out["loop train"] = (loop, {"configs": 1, "steps": args.loop_steps, "flops": 6.0 * P * pl.batch * args.loop_steps})
    return out


def sample_methods(args) -> dict:
    p = params(1, args.samples, args.ddim)
    P = param_count(p)
    flops = 2.0 * P * 2 * args.ddim * args.samples
    go, work = harness.engine_call(SAMPLE_STUDY, [replace(p, seed=s) for s in range(args.configs)])
    out = {f"engine x{args.configs} sample": (go, {**work, "steps": 1, "samples": args.samples * args.configs, "flops": flops * args.configs})}
    jitted = jax.jit(sample_run)
    jax.block_until_ready(jitted(p, jax.random.PRNGKey(0)))

    def loop():
        for s in range(args.configs):
            jax.block_until_ready(jitted(p, jax.random.PRNGKey(s)))

    out["loop sample"] = (loop, {"configs": args.configs, "steps": 1, "samples": args.samples * args.configs, "flops": flops * args.configs})
    return out


def summarize(name, work, samples, peak_gflops):
    r = harness.row(name, work, samples, peak_gflops)
    r["ms_per_step"] = 1e3 * r["wall_s"] / (work["configs"] * work["steps"])
    r["steps_per_s"] = work["configs"] * work["steps"] / r["wall_s"]
    r["samples_per_s"] = work.get("samples", 0) / r["wall_s"]
    return r


def _torch_note() -> str:
    try:
        import torch  # noqa: F401
    except ImportError:
        return "torch not installed: no PyTorch rows"
    return "torch installed, but a PyTorch port of this model is not part of this benchmark yet"


def section(kind):
    def measure(args, result):
        harness.log(f"{kind}: compiling")
        methods = train_methods(args) if kind == "train" else sample_methods(args)
        sec = harness.measure(methods, args, summarize)
        rows = {r["method"]: r for r in sec["rows"]}
        key = "steps_per_s" if kind == "train" else "samples_per_s"
        eng, loop = rows[f"engine x{args.configs} {kind}"], rows[f"loop {kind}"]
        sec["ratio_engine_vs_loop"] = eng[key] / loop[key]
        sec["torch"] = _torch_note()
        return sec
    return measure


def show(kind):
    def go(sec, result=None):
        key, unit = ("steps_per_s", "train steps/s") if kind == "train" else ("samples_per_s", "samples/s")
        print(f"\n== diffusion {kind}: {unit}; {sec['torch']}")
        col = harness.col
        harness.table(sec["rows"], [col("method", 20, "{method}", "<"), col("configs", 7, "{configs:d}"), col("ms/step/cfg", 11, "{ms_per_step:.2f}"),
                                    col(unit, 14, "{" + key + ":.1f}"), harness.OF_PEAK, *harness.memory_columns()])
        print(f"   engine / loop: {sec['ratio_engine_vs_loop']:.2f}x")
    return go


LEGEND = "ms/step/cfg = wall per optimizer step (or per sampling call) and config; train steps/s and samples/s summed over configs"


def main(argv=None) -> dict:
    ap = harness.parser(__doc__, sections=SECTIONS, json_path="bench_out/diffusion.json", wait_quiet=5.0, wait_budget=30.0,
                        quick="20 engine steps, 10 loop steps, 4 samples, two rounds")
    ap.add_argument("--configs", type=int, default=3, help="engine configs per call")
    ap.add_argument("--steps", type=int, default=100, help="engine training steps per call")
    ap.add_argument("--loop-steps", type=int, default=100)
    ap.add_argument("--samples", type=int, default=64, help="DDIM samples per config")
    ap.add_argument("--ddim", type=int, default=20, help="DDIM steps")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.steps, args.loop_steps, args.samples, args.wait_budget = 2, 20, 10, 4, min(args.wait_budget, 10.0)
    return harness.run(args, {"train": (section("train"), show("train")), "sample": (section("sample"), show("sample"))}, LEGEND)


if __name__ == "__main__":
    main()
