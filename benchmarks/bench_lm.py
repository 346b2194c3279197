"""Side-by-side speed of the tiny LM's training step (lm-canaries study), plain and DP-SGD, in one run.

The model and batches of the quick scale (``sims/studies/lm_canaries``: width 32, 2 layers, 4 heads,
vocabulary 48, context 24, Poisson batches of expected size 32 in a buffer of 58 rows, Adam). Methods,
measured in the same process and interleaved round by round by ``benchmarks/harness.py``:
  engine xC plain / dp  C configs through ``engine.run_chunk`` (``jit(vmap(run))``) of a training-only run:
                        the study's ``run.training`` step (Poisson sample, gradient, Adam) in a ``lax.scan``
                        of --steps steps; data generation and initialization are inside each call;
  loop plain / dp       one config: the same step jit'd (carry donated), called from a Python loop;
  torch plain / dp      the same model in PyTorch (pre-LN blocks, learned positions, untied head, tanh
                        GELU, LayerNorm eps 1e-6), Adam, the same fixed batches; DP per-example gradients
                        with ``torch.func.vmap(grad)`` (Opacus's functorch mode), flat clipping at C = 1 and
                        Gaussian noise sigma C (sigma 1). Rows say "torch not installed" without torch;
                        its default threads and one thread are both timed.
Reported per method: ms per step and config, trained tokens per second (expected batch x context per
step), the ratio to the JAX loop, and the DP-SGD step's cost relative to the plain step of the same
method (Abadi et al., arXiv 1607.00133: per-example gradients make DP-SGD several times slower, which
users of the anchor libraries ask about). A loss check compares JAX and torch on identical weights.

    python benchmarks/bench_lm.py            # about 3 minutes on 2 cores
    python benchmarks/bench_lm.py --quick    # fewer steps and rounds
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

from rote.sims import lm  # noqa: E402
from rote.sims.params import replace  # noqa: E402
from rote.sims.studies.lm_canaries import run as study_run  # noqa: E402
from rote.sims.studies.lm_canaries.model import build_model, param_count  # noqa: E402
from rote.sims.studies.lm_canaries.scales import quick_scale  # noqa: E402
from rote.sims.study import Study  # noqa: E402

SECTIONS = ("methods",)


def train_run(p, key):
    """The study's training alone: data, initialization, ``p.steps`` steps; returns the final batch count."""
    model = build_model(p)
    data = study_run.make_data(p, key)
    k_init, k_train = jax.random.split(jax.random.fold_in(key, 1))
    init, step, _ = study_run.training(p, model, data, k_train)
    carry, _ = jax.lax.scan(step, init(lm.init_params(model, k_init)), None, length=p.steps)
    return {"drawn": carry[3]}


TRAIN_STUDY = Study(name="lm-canaries-train", params_type=type(quick_scale().base), run=train_run, scales={}, metric_dims={"drawn": ()},
                    coords=lambda p: {}, bytes_per_config=study_run.bytes_per_config)


def base_params(steps: int, dp: bool, width: int = 32):
    return replace(quick_scale().base, steps=steps, log_every=steps, dp=dp, sigma=1.0 if dp else 0.0, clip=1.0, width=width)


def work_of(p, configs: int, steps: int) -> dict:
    """Credited work: 6 P FLOPs per trained token (expected batch x context per step)."""
    tokens = p.batch_size * p.context * steps * configs
    return {"flops": 6.0 * param_count(p) * tokens, "tokens": tokens, "configs": configs, "steps": steps}


def engine_method(p, configs: int):
    cfgs = [replace(p, seed=s) for s in range(configs)]
    go, work = harness.engine_call(TRAIN_STUDY, cfgs)
    return go, {**work, **work_of(p, configs, p.steps)}


@functools.cache
def _data(p):
    """The training set of seed 0 (it depends on neither dp nor sigma nor steps: built once)."""
    return jax.jit(study_run.make_data, static_argnums=0)(p, jax.random.PRNGKey(0))


def loop_method(p, steps: int):
    """One config: the study's step jit'd with the carry donated, a Python loop over ``steps``."""
    key = jax.random.PRNGKey(0)
    model = build_model(p)
    data = _data(replace(p, dp=False, sigma=0.0, steps=1, log_every=1))
    k_init, k_train = jax.random.split(jax.random.fold_in(key, 1))
    init, step, _ = study_run.training(p, model, data, k_train)
    weights = lm.init_params(model, k_init)
    one = jax.jit(lambda carry: step(carry, None)[0], donate_argnums=0)
    fresh = lambda: jax.tree_util.tree_map(jnp.copy, init(weights))  # noqa: E731 - donated each call
    jax.block_until_ready(one(fresh()))  # compile

    def go():
        carry = fresh()
        for _ in range(steps):
            carry = one(carry)
        jax.block_until_ready(carry)

    return go, {**work_of(p, 1, steps), "program_bytes": lambda: harness.xla_bytes(one, fresh())}


def fixed_batches(p, steps: int, seed: int = 0):
    """``steps`` batches of the study's shape (58 rows, a Poisson mask of rate 32/58) for the loops that
    do not sample themselves (torch): (tokens (steps, slots, T), masks (steps, slots))."""
    slots = study_run.sizes(p)["slots"]
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, p.vocab, (steps, slots, p.context))
    masks = (rng.random((steps, slots)) < p.batch_size / slots).astype(np.float32)
    return tokens, masks


def torch_forward(torch, params: dict, tokens, p):
    """TinyLM in PyTorch on a flat dict of flax-named tensors: tokens (B, T) -> logits (B, T, V)."""
    F = torch.nn.functional
    T, d, H = tokens.shape[-1], p.width, p.heads
    x = params["embed/token/embedding"][tokens] + params["embed/position"][:T]
    causal = torch.ones(T, T, dtype=torch.bool).tril()

    def ln(x, name):
        return F.layer_norm(x, (d,), params[f"{name}/scale"], params[f"{name}/bias"], eps=1e-6)

    def dense(x, name):
        return x @ params[f"{name}/kernel"] + params[f"{name}/bias"]

    for i in range(p.layers):
        b = f"block{i}"
        h = ln(x, f"{b}/ln1")
        q, k, v = (dense(h, f"{b}/attn/{n}").unflatten(-1, (H, d // H)).transpose(-2, -3) for n in ("query", "key", "value"))
        scores = (q @ k.transpose(-1, -2)) * (d // H) ** -0.5
        att = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1) @ v
        x = x + dense(att.transpose(-2, -3).flatten(-2), f"{b}/attn/out")
        x = x + dense(F.gelu(dense(ln(x, f"{b}/ln2"), f"{b}/mlp/fc1"), approximate="tanh"), f"{b}/mlp/fc2")
    return dense(ln(x, "ln_f"), "head")


def torch_example_losses(torch, params, tokens, p):
    """Mean next-token cross-entropy over tokens 1..T-1 of each row (as ``lm.example_losses``): (B,)."""
    logits = torch_forward(torch, params, tokens, p)[..., :-1, :]
    return torch.nn.functional.cross_entropy(logits.flatten(0, -2), tokens[..., 1:].flatten(), reduction="none").view(tokens.shape[:-1] + (-1,)).mean(-1)


def torch_weights(torch, p, key: int = 1) -> dict:
    """The JAX initialization of the study's model as torch leaf tensors named by their flax path."""
    flat = jax.tree_util.tree_flatten_with_path(lm.init_params(build_model(p), jax.random.PRNGKey(key))["params"])[0]
    return {"/".join(k.key for k in path): torch.tensor(np.array(v, np.float32), requires_grad=True) for path, v in flat}


def torch_method(p, steps: int, threads: int):
    """The same training in PyTorch (None without torch): Adam; DP-SGD per-example gradients by
    ``torch.func.vmap(grad)``, clipped to 1 and noised with sigma 1 as Opacus does."""
    try:
        import torch
        from torch.func import grad, vmap
    except ImportError:
        return None
    params = torch_weights(torch, p)
    tokens, masks = (torch.from_numpy(a) for a in fixed_batches(p, steps))
    opt = torch.optim.Adam(list(params.values()), lr=p.lr, eps=1e-8)

    def one_loss(params, row):
        return torch_example_losses(torch, params, row[None], p)[0]

    per_example = vmap(grad(one_loss), in_dims=(None, 0))

    def go():
        for s in range(steps):
            opt.zero_grad(set_to_none=True)
            if p.dp:
                g = per_example({k: v.detach() for k, v in params.items()}, tokens[s])
                norms = torch.sqrt(sum((x.flatten(1) ** 2).sum(1) for x in g.values()))
                factor = (masks[s] * torch.clamp(p.clip / (norms + 1e-12), max=1.0))
                for name, v in params.items():
                    summed = torch.einsum("b,b...->...", factor, g[name])
                    v.grad = (summed + p.sigma * p.clip * torch.randn_like(summed)) / p.batch_size
            else:
                (torch_example_losses(torch, params, tokens[s], p) * masks[s]).sum().div(p.batch_size).backward()
            opt.step()

    return harness.with_threads(go, threads), {**work_of(p, 1, steps), "threads": threads}


def loss_check(p) -> dict:
    """Mean example loss of one batch on identical weights: JAX TinyLM and the torch forward."""
    model = build_model(p)
    variables = lm.init_params(model, jax.random.PRNGKey(1))
    tokens, _ = fixed_batches(p, 1)
    out = {"jax": float(lm.example_losses(model, variables, jnp.asarray(tokens[0])).mean())}
    try:
        import torch
    except ImportError:
        out["torch"] = "not installed"
        return out
    with torch.no_grad():
        out["torch"] = float(torch_example_losses(torch, torch_weights(torch, p), torch.from_numpy(tokens[0]), p).mean())
    return out


def summarize(name: str, work: dict, samples: list[dict], peak_gflops: float) -> dict:
    r = harness.row(name, work, samples, peak_gflops)
    r.update({"ms_per_step": 1e3 * r["wall_s"] / (work["configs"] * work["steps"]), "tokens_per_s": work["tokens"] / r["wall_s"]})
    return r


def section_methods(args, result) -> dict:
    harness.log(f"methods: width {args.width}, {args.steps} engine steps x {args.configs} configs, {args.loop_steps} loop steps; compiling")
    methods = {}
    for dp in (False, True):
        tag = "dp" if dp else "plain"
        p = base_params(args.steps, dp, args.width)
        methods[f"engine x{args.configs} {tag}"] = engine_method(p, args.configs)
        methods[f"loop {tag}"] = loop_method(base_params(args.loop_steps, dp, args.width), args.loop_steps)
        for threads in harness.torch_thread_counts():
            m = torch_method(base_params(args.torch_steps, dp, args.width), args.torch_steps, threads)
            if m is not None:
                methods[f"torch {tag} ({threads} thr)"] = m
    sec = {"loss_check": loss_check(base_params(1, False, args.width)), **harness.measure(methods, args, summarize)}
    rows = {r["method"]: r for r in sec["rows"]}
    sec["ratios"] = ratios(rows, args.configs)
    if not any(k.startswith("torch") for k in rows):
        sec["torch"] = "torch not installed"
    return sec


def ratios(rows: dict, configs: int) -> dict:
    """DP-SGD step cost over the plain step per method family, and each family's tokens/s over the JAX loop's."""
    out = {}
    families = {"engine": f"engine x{configs}", "loop": "loop", "torch": "torch"}
    for fam, prefix in families.items():
        plain = [r for k, r in rows.items() if k.startswith(prefix + " plain")]
        dp = [r for k, r in rows.items() if k.startswith(prefix + " dp")]
        if plain and dp:
            best_plain, best_dp = min(plain, key=lambda r: r["ms_per_step"]), min(dp, key=lambda r: r["ms_per_step"])
            out[f"{fam}: dp / plain step"] = best_dp["ms_per_step"] / best_plain["ms_per_step"]
            if fam != "loop" and "loop plain" in rows and "loop dp" in rows:
                out[f"{fam}: tokens/s vs loop (plain)"] = best_plain["tokens_per_s"] / rows["loop plain"]["tokens_per_s"]
                out[f"{fam}: tokens/s vs loop (dp)"] = best_dp["tokens_per_s"] / rows["loop dp"]["tokens_per_s"]
    return out


def show_methods(sec: dict, result=None) -> None:
    c = sec["loss_check"]
    torch_loss = c["torch"] if isinstance(c["torch"], str) else f"{c['torch']:.6f}"
    print(f"\n== tiny LM training step, plain and DP-SGD; loss on identical weights: jax {c['jax']:.6f}, torch {torch_loss}")
    rows = sec["rows"]
    col, ratio = harness.col, harness.ratio_col
    ref = next((r for r in rows if r["method"] == "loop plain"), None)
    harness.table(rows, [col("method", 22, "{method}", "<"), col("configs", 7, "{configs:d}"), col("steps", 5, "{steps:d}"),
                         col("ms/step/cfg", 11, "{ms_per_step:.2f}"), col("tokens/s", 9, "{tokens_per_s:.0f}"), harness.OF_PEAK,
                         ratio("vs loop plain", 13, "tokens_per_s", ref and ref["tokens_per_s"], "{:.2f}x", faster="higher"),
                         *harness.memory_columns()])
    if "torch" in sec:
        print("   torch plain / torch dp: torch not installed")
    print("   ratios: " + ", ".join(f"{k} {v:.2f}x" for k, v in sec["ratios"].items()))


LEGEND = ("ms/step/cfg = wall per step and config; tokens/s = expected batch x context trained per second; "
          "vs loop plain = tokens/s over the per-config JAX loop's plain step")


def main(argv=None) -> dict:
    ap = harness.parser(__doc__, sections=SECTIONS, json_path="bench_out/lm.json", wait_quiet=5.0, wait_budget=30.0,
                        quick="20 engine steps, 10 loop and torch steps, two rounds")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--configs", type=int, default=4, help="engine configs per call")
    ap.add_argument("--steps", type=int, default=100, help="engine steps per call")
    ap.add_argument("--loop-steps", type=int, default=50)
    ap.add_argument("--torch-steps", type=int, default=10)
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.steps, args.loop_steps, args.torch_steps, args.wait_budget = 2, 20, 10, 5, min(args.wait_budget, 10.0)
    return harness.run(args, {"methods": (section_methods, show_methods)}, LEGEND)


if __name__ == "__main__":
    main()
