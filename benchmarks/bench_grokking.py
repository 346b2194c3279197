"""Side-by-side speed of the grokking training step, in one run, reported as ratios.

Methods, measured in the same process, interleaved round by round (so a disturbance by another
process hits every method alike):
  peak         the machine's fp32 matmul rate: jit'd ``jnp.matmul`` on square matrices (best size);
  engine xC    the vectorised engine: C configs cut into chunks by ``engine.choose_chunk_size``, each
               chunk one ``engine.run_chunk`` call (``jit(vmap(run))``, the study's own training step);
  loop         a straightforward per-configuration loop in JAX, as the reference code does: one model,
               a jit'd step (``jax.grad`` of ``mse(forward(...))``, ``optax.adamw``, buffers donated),
               a Python loop over steps;
  loop (fast)  the same loop with the study's hand-written gradient (``gradient.train_loss``): separates
               the gain of the step itself from the gain of the engine (``lax.scan`` + ``vmap``);
  engine xC plain step  the engine with the study's step differentiating the plain loss by ``jax.grad``
               (the step before the hand-written gradient);
  torch        the reference math in PyTorch on the CPU, if torch is installed (optional; never imported
               by the package): full-batch AdamW (lr 0.01, betas (0.9, 0.98), eps 1e-8, weight decay 5),
               MSE (mean) against a one-hot target built each step, quadratic MLP without biases, float32.
               ``torch reference``: the reference's training loop re-written with the same per-epoch work
               (d-doshi/Grokking: Training_scripts/phase_diagrams_wd.py calls utils/optimization.py
               ``train_one_epoch_grokking`` once per epoch, one epoch = one full-batch step, 2000 epochs
               per configuration): each epoch model.train(), model.to(cpu, float32) and the data .to()
               (no-ops on the CPU), a new ``nn.MSELoss``, zero_grad, the utils/models.py ``fcn`` module
               (``nn.Linear(2p, N, bias=False)`` on the (M, 2, p) float32 one-hot pair flattened,
               ``nn.Dropout(0.0)``, x**2, ``nn.Linear(N, p, bias=False)``), ``.squeeze()``, the one-hot
               target built and cast, backward, ``optim.AdamW`` step; no evaluation, no .item() and
               no numpy conversion: the script logs (``if_data``) only at epoch 2000. That logging epoch
               (loss and gradients to numpy, train and test accuracy and the test loss: three eval
               forwards, then the script's weight norms and per-neuron rfft IPRs) is timed apart and
               amortised over the 2000 epochs in the headline. The data: all p^2 pairs shuffled once,
               the first M train, the first floor(xi M) train labels random (xi 0.35).
               ``torch one-hot``: the same math without the reference's per-epoch module calls (plain
               tensors, (M, 2p) input); ``torch gather``: the first layer as ``U[m] + V[n]``.
               Every torch row runs at torch's default threads (one per core) and at one thread; the
               ratios use the faster setting (``best_torch``). Measured at paper size on 2 quiet cores:
               the reference loop 18.9 ms per step at 2 threads, 37.7 ms at 1, the same as torch one-hot
               (19.4 / 36.8 ms): its per-epoch extras cost nothing measurable, its logging epoch 68 ms
               (0.03 ms per step amortised), and a full 2000-step trajectory stays at 19-21 ms per step
               (no slowdown late in training, no denormals). With other processes using about 2/3 of
               the machine, two OpenMP threads degrade to 110-440 ms per step (one thread: 50-80 ms):
               a reference step of "about 310 ms" is that contended regime, not the reference's work.

Headline: the engine as a sweep runs it (the ``engine xC`` row with the most configs) against the torch
reference loop (target: engine >= 20x the torch reference loop per config-step), with and without its
logging epoch amortised, and against ``torch one-hot`` (the same math without the reference's
per-epoch extras).

Reported per method: ms per config-step (wall / (configs x steps)), config-steps/s and configs/s,
achieved GFLOP/s and its fraction of the peak measured in the same run, and peak memory.

FLOPs: every method is credited 6 M N p per config-step (2 M N p forward, x3 with the backward; M train rows), whatever it
executes: GFLOP/s = 6 M N p / (ms per config-step). That is conservative for the engine, whose time
also holds one forward over all p^2 pairs per logged step (2 p^3 N each; with ``log_every = steps``
here, two per call; the rate with them credited, ``STUDY.flops_per_config``, is ``gflops_incl_eval``
in the JSON), and generous for the one-hot reference, which also multiplies by the 2p-wide one-hot
input (4 M 2p N more FLOPs per step).

Timing (best quiet sample, medians in the JSON), peak memory (``rss``: peak resident-set rise, a lower
bound after a warm-up call, torch measured on its first call; ``xla``: the compiled program's buffers)
and the JSON report: benchmarks/harness.py. Before each sample the run waits up to --wait-quiet s (20)
for a quiet half second, at most --wait-budget s (120) over the whole run.

    python benchmarks/bench_grokking.py                  # everything (about 5-10 min on 2 quiet cores)
    python benchmarks/bench_grokking.py --quick          # smaller grid sizes, fewer rounds
    python benchmarks/bench_grokking.py --sections methods --rounds 5
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from pathlib import Path

import jax
import numpy as np
import optax

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the harness beside this file
import harness  # noqa: E402
from harness import best, log, timed  # noqa: E402

from rote.sims import engine  # noqa: E402
from rote.sims.params import replace  # noqa: E402
from rote.sims.studies.grokking import STUDY, gradient  # noqa: E402
from rote.sims.studies.grokking import model as study_model  # noqa: E402
from rote.sims.studies.grokking import run as training  # noqa: E402
from rote.sims.studies.grokking.params import GrokkingParams  # noqa: E402

REFERENCE_EPOCHS = 2000  # the reference's epochs per configuration (Training_scripts/phase_diagrams_wd.py); it logs at the last

# --------------------------------------------------------------------------------------------------
# Methods: each returns (fn running the measured work, dict describing the work)
# --------------------------------------------------------------------------------------------------


def sweep_configs(base, n_configs: int, steps: int):
    """n_configs configs of one static group (alpha fixed), varying the traced fields as a sweep does."""
    params = replace(base, steps=steps, log_every=steps)
    xis = np.round(np.linspace(0.0, 0.9, 19), 4)
    wds = (0.0, 5.0, 15.0, 20.0)
    return [replace(params, xi=float(xis[i % 19]), weight_decay=wds[(i // 19) % 4], seed=i) for i in range(n_configs)]


def plain_loss(w, m, n, y):
    """The study's loss differentiated by ``jax.grad`` (the step before the hand-written gradient)."""
    return study_model.mse(study_model.forward(w, m, n), y)


def _plain_step_run(params, key):
    """The study's run with the plain loss."""
    weights, curves = training.train(params, key, loss=plain_loss)
    return {**curves, "ipr": study_model.neuron_ipr(weights)}


def engine_method(base, n_configs: int, steps: int, plain_step: bool = False):
    """All n_configs through the engine as a sweep runs them (``harness.engine_call``); ``plain_step``:
    the study's step differentiating the plain loss by ``jax.grad``."""
    study = dataclasses.replace(STUDY, run=_plain_step_run) if plain_step else STUDY
    cfgs = sweep_configs(base, n_configs, steps)
    go, work = harness.engine_call(study, cfgs)
    return go, {**work, "steps": steps, "flops": n_configs * steps * training.flops_per_step(cfgs[0]),
                "flops_incl_eval": sum(study.flops_per_config(c) for c in cfgs)}


def loop_method(base, steps: int, fast: bool):
    """One config, a jit'd step with donated buffers, a Python loop over steps (``harness.python_loop``);
    ``fast``: the study's hand-written gradient, else ``jax.grad`` of the plain loss."""
    params = replace(base, xi=0.35, weight_decay=5.0)
    key = jax.random.PRNGKey(0)
    data = training.make_data(params, key)
    k = params.n_train
    m, n, y = data["m"][:k], data["n"][:k], data["noisy"][:k]
    opt = optax.adamw(params.lr, b1=0.9, b2=0.98, eps=1e-8, weight_decay=params.weight_decay)
    loss = gradient.train_loss if fast else plain_loss

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def step(w, state):
        grads = jax.grad(loss)(w, m, n, y)
        updates, state = opt.update(grads, state, w)
        return optax.apply_updates(w, updates), state

    go, work = harness.python_loop(step, study_model.init_weights(params, key), opt, [()] * steps)
    return go, {**work, "flops": steps * training.flops_per_step(params)}


def torch_reference_model(p: int, N: int, gen=None):
    """The reference's model as a torch module (d-doshi/Grokking utils/models.py ``fcn``, re-written here):
    Linear(2p -> N, no bias) on the flattened (B, 2, p) one-hot pair, Dropout(0.0), x**2 through a module,
    Linear(N -> p, no bias); both weights N(0, (0.25^0.5 / (2N)^(1/3))^2). None without torch."""
    try:
        import torch
    except ImportError:
        return None
    std = 0.25**0.5 / (2 * N) ** (1 / 3)  # = (16 N)^(-1/3), the study's init

    class Square(torch.nn.Module):
        def forward(self, x):
            return torch.pow(x, 2)

    class ReferenceMLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(2 * p, N, bias=False)
            self.fc2 = torch.nn.Linear(N, p, bias=False)
            self.act = Square()
            self.dp = torch.nn.Dropout(0.0)
            for lin in (self.fc1, self.fc2):
                torch.nn.init.normal_(lin.weight, 0.0, std, generator=gen)

        def forward(self, x):
            return self.fc2(self.act(self.dp(self.fc1(x.flatten(1)))))

    return ReferenceMLP()


def torch_reference_data(p: int, n_train: int, xi: float, gen=None) -> dict:
    """The reference's data layout: all p^2 pairs shuffled once, X the (p^2, 2, p) float32 one-hot of the
    pair (built once), labels (m + n) mod p with the first floor(xi n_train) train labels drawn uniformly;
    train = the first n_train rows, test = the rest."""
    import torch
    import torch.nn.functional as F

    order = torch.randperm(p * p, generator=gen)
    m, n = order // p, order % p
    y = (m + n) % p
    k = int(xi * n_train)
    y[:k] = torch.randint(0, p, (k,), generator=gen)
    X = F.one_hot(torch.stack([m, n], dim=1), p).to(torch.float32)
    return {"X_train": X[:n_train], "Y_train": y[:n_train], "X_test": X[n_train:], "Y_test": y[n_train:]}


def torch_reference_epoch(model, opt, d: dict, if_data: bool) -> dict:
    """One epoch (= one full-batch step) of the reference's training loop, re-written with the same work
    (d-doshi/Grokking utils/optimization.py ``train_one_epoch_grokking``, losstype 'MSE', no scaler):
    model.train(), model.to(cpu, float32) and the data .to() each epoch (no-ops on the CPU, but walked),
    a new MSELoss module, zero_grad, forward, the one-hot target built and cast each step, backward,
    AdamW step. With ``if_data`` (the reference: only at the last of its 2000 epochs) it also does the
    logging work: loss and both weight gradients to numpy, train and test accuracy (two eval forwards,
    wrong rows gathered), the test loss (a third eval forward) and its .item(); then the driver's
    bookkeeping (Training_scripts/phase_diagrams_wd.py): weights to numpy, squared norms and the IPR
    (r = 2) of the rfft of each of the N neurons' U, V, W rows, one numpy call per neuron."""
    import torch
    import torch.nn.functional as F

    cpu, f32 = torch.device("cpu"), torch.float32
    out = {"loss": [], "tr_acc": [], "val_acc": [], "val_loss": [], "grad1": [], "grad2": []}
    criterion = torch.nn.MSELoss()
    model.train()
    model.to(device=cpu, dtype=f32)
    X = d["X_train"].to(device=cpu, dtype=f32)
    Y = d["Y_train"].to(device=cpu, dtype=torch.long)
    opt.zero_grad()
    scores = model(X).squeeze()
    loss = criterion(scores, F.one_hot(Y, num_classes=scores.shape[-1]).to(device=cpu, dtype=f32))
    loss.backward()
    opt.step()
    if not if_data:
        return out
    out["loss"].append(loss.detach().cpu().numpy())
    out["grad1"].append(model.fc1.weight.grad.detach().cpu().numpy())
    out["grad2"].append(model.fc2.weight.grad.detach().cpu().numpy())
    with torch.no_grad():
        model.eval()
        for Xe, Ye, key in ((X, Y, "tr_acc"), (d["X_test"], d["Y_test"], "val_acc")):
            _, preds = model(Xe).max(1)
            correct = (preds == Ye).sum()
            _wrong = Xe[Ye != preds]  # the reference gathers the misclassified rows
            out[key].append(float(correct) / preds.size(0))
        s = model(d["X_test"]).squeeze()
        out["val_loss"].append(criterion(s, F.one_hot(d["Y_test"], num_classes=s.shape[-1]).to(dtype=f32)).detach().clone().cpu().item())
    p = model.fc2.weight.shape[0]
    U = model.fc1.weight.data[:, :p].detach().clone().cpu().numpy()
    V = model.fc1.weight.data[:, p:].detach().clone().cpu().numpy()
    W = model.fc2.weight.data.detach().clone().cpu().numpy()
    out["norms"] = [float((np.abs(a) ** 2).sum()) for a in (U, V, W)]
    out["ipr"] = np.array([[reference_ipr(np.abs(np.fft.rfft(row))) for row in (U[k], V[k], W[:, k])] for k in range(U.shape[0])])
    return out


def reference_ipr(a: np.ndarray, r: int = 2) -> float:
    """Inverse participation ratio of a spectrum: sum((a / ||a||_2)^(2r))."""
    return float(np.power(a / np.sqrt((a**2).sum()), 2 * r).sum())


def torch_method(base, steps: int, variant: str, threads: int | None = None, xi: float = 0.35, weight_decay: float = 5.0):
    """The reference math in PyTorch (CPU); None without torch. ``threads``: torch's intra-op threads
    during the call (None: torch's default, one per core)."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    p, N, k = base.p, base.N, base.n_train
    gen = torch.Generator().manual_seed(0)
    n_threads = threads or torch.get_num_threads()
    work = {"configs": 1, "steps": steps, "flops": steps * training.flops_per_step(base), "threads": n_threads}
    if variant == "reference":
        d = torch_reference_data(p, k, xi, gen)
        ref_model = torch_reference_model(p, N, gen)
        opt = torch.optim.AdamW(list(ref_model.parameters()), lr=0.01, betas=(0.9, 0.98), eps=1e-8, weight_decay=weight_decay)

        def train():
            for _ in range(steps):  # the reference's epochs without logging (1999 of its 2000)
                torch_reference_epoch(ref_model, opt, d, if_data=False)

        work["logging_epoch"] = harness.with_threads(lambda: torch_reference_epoch(ref_model, opt, d, if_data=True), n_threads)
        return harness.with_threads(train, n_threads), work
    order = torch.randperm(p * p, generator=gen)[:k]
    m, n = order // p, order % p
    y = (m + n) % p
    std = 0.25**0.5 / (2 * N) ** (1 / 3)  # the reference's init, = (16 N)^(-1/3)
    if variant == "one-hot":
        X = torch.cat([F.one_hot(m, p), F.one_hot(n, p)], dim=1).float()  # (M, 2p), built once, as the reference
        fc1, fc2 = torch.nn.Linear(2 * p, N, bias=False), torch.nn.Linear(N, p, bias=False)
        for lin in (fc1, fc2):
            torch.nn.init.normal_(lin.weight, 0.0, std, generator=gen)
        weights = [fc1.weight, fc2.weight]

        def forward():
            return fc2(torch.pow(fc1(X), 2))

    else:
        U, V, W = (torch.nn.Parameter(std * torch.randn(*s, generator=gen)) for s in ((p, N), (p, N), (N, p)))
        weights = [U, V, W]

        def forward():
            h = U[m] + V[n]
            return torch.pow(h, 2) @ W

    opt = torch.optim.AdamW(weights, lr=0.01, betas=(0.9, 0.98), eps=1e-8, weight_decay=weight_decay)

    def train():
        for _ in range(steps):
            opt.zero_grad()
            loss = F.mse_loss(forward(), F.one_hot(y, p).float())
            loss.backward()
            opt.step()

    return harness.with_threads(train, n_threads), work


def torch_methods(base, steps: int, methods: dict, variants=("reference", "one-hot", "gather")) -> None:
    """Add the torch rows to ``methods``: each variant at torch's default threads and, if that differs,
    at one thread (``harness.torch_thread_counts``; the ratios use the faster setting)."""
    counts = harness.torch_thread_counts()
    for variant in variants:
        for threads in counts:
            name = f"torch {variant}" if threads == counts[0] else f"torch {variant}, {threads} thread"
            methods[name] = torch_method(base, steps, variant, threads=threads)  # not called before the rounds: its first sample is its first call


def best_torch(rows, variant: str = "reference") -> dict | None:
    """The fastest row of a torch variant over its thread settings."""
    return harness.fastest(rows, lambda m: m == f"torch {variant}" or m.startswith(f"torch {variant},"), "ms_per_config_step")


# --------------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------------


def summarize(name: str, work: dict, samples: list[dict], peak_gflops: float) -> dict:
    """``harness.row`` per config-step: ms (best and median), config-steps/s, configs/s, the rate with the
    engine's evaluations credited, CPU ms."""
    r = harness.row(name, work, samples, peak_gflops)
    config_steps = work["configs"] * work["steps"]
    r.update({"ms_per_config_step": 1e3 * r["wall_s"] / config_steps, "ms_per_config_step_median": 1e3 * r["wall_s_median"] / config_steps,
              "config_steps_per_s": config_steps / r["wall_s"], "configs_per_s": work["configs"] / r["wall_s"],
              "gflops_incl_eval": work.get("flops_incl_eval", work["flops"]) / r["wall_s"] / 1e9,
              "cpu_ms_per_config_step": 1e3 * r["cpu_s"] / config_steps})
    return r


def _base(args):
    return GrokkingParams(p=args.p, N=args.N, alpha=args.alpha, steps=args.steps, log_every=args.steps)


def section_methods(args, result) -> dict:
    """Every method at one problem size, side by side, and the headline ratios."""
    base = _base(args)
    log(f"methods at p {base.p}, N {base.N}, alpha {base.alpha}: building and compiling")
    engine_sizes = sorted({1, *args.engine_configs})
    methods = {f"engine x{c}": engine_method(base, c, args.steps) for c in engine_sizes}
    chunk = methods[f"engine x{max(engine_sizes)}"][1]["chunk"]
    methods[f"engine x{chunk} plain step"] = engine_method(base, chunk, args.steps, plain_step=True)
    methods["loop"] = loop_method(base, args.steps, fast=False)
    methods["loop (fast step)"] = loop_method(base, args.steps, fast=True)
    torch_methods(base, args.torch_steps, methods)
    sec = {"p": base.p, "N": base.N, "alpha": base.alpha, "n_train": base.n_train, **harness.measure(methods, args, summarize)}
    if "torch reference" in methods:  # the reference's logging epoch (once per 2000 epochs), timed apart at default threads
        log("  torch reference: the reference's logging epoch")
        b = best([timed(methods["torch reference"][1]["logging_epoch"]) for _ in range(2)])
        for r in sec["rows"]:
            if r["method"].startswith("torch reference"):
                r["logging_epoch_ms"], r["logging_epoch_quiet"] = 1e3 * b["wall"], b["quiet"]
    sec["headline"] = headline(sec)
    return sec


def section_grid(args, result) -> dict:
    """Cost against the number of configs (engine only; chunks by choose_chunk_size); grids of 64 configs
    and more are sampled once."""
    base = _base(args)
    methods = {}
    for c in args.grid:
        steps = args.steps if c <= 8 else args.grid_steps
        log(f"grid: {c} configs x {steps} steps")
        methods[f"engine x{c}"] = engine_method(base, c, steps)
    sec = harness.measure(methods, args, summarize, once=lambda work: work["configs"] >= 64)
    return {"p": base.p, "N": base.N, "peak_gflops": sec["peak"]["gflops"], "rows": sec["rows"]}


def section_sizes(args, result) -> dict:
    """Cost against the problem size (p, N): engine (one chunk), loops and torch, side by side."""
    out = []
    for spec in args.sizes:
        p, N = (int(x) for x in spec.split(","))
        base = GrokkingParams(p=p, N=N, alpha=args.alpha)
        flops = 6.0 * base.n_train * N * p
        steps = int(min(200, max(50, 2e10 / flops)))  # >= 20 GFLOP of training per call; evaluations <= 3 %
        steps -= steps % 10
        base = replace(base, steps=steps, log_every=steps)
        log(f"size p {p}, N {N}: {steps} steps per call")
        chunk = engine.choose_chunk_size(STUDY, base)
        methods = {
            f"engine x{chunk}": engine_method(base, chunk, steps),
            f"engine x{chunk} plain step": engine_method(base, chunk, steps, plain_step=True),
            "loop": loop_method(base, steps, fast=False),
            "loop (fast step)": loop_method(base, steps, fast=True),
        }
        for variant in ("one-hot", "gather"):
            m = torch_method(base, max(2, steps // 5), variant)
            if m is not None:
                methods[f"torch {variant}"] = m
        sec = harness.measure(methods, args, summarize, rounds=args.size_rounds)
        out.append({"p": p, "N": N, "alpha": args.alpha, "n_train": base.n_train, "flops_per_step": flops, "peak_gflops": sec["peak"]["gflops"],
                    "rows": sec["rows"]})
    return {"sizes": out}


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def headline(sec: dict) -> dict:
    """The headline ratios: the engine as a sweep runs it (the 'engine xC' row with the most configs) vs
    the torch reference loop (its faster thread setting; with its logging epoch amortised over 2000
    epochs, and without) and vs the same math without the reference's per-epoch extras (torch one-hot,
    its faster thread setting). Target: engine >= 20x the torch reference loop per config-step."""
    rows = sec["rows"]
    eng = max((r for r in rows if r["method"].startswith("engine x") and "plain" not in r["method"]), key=lambda r: r["configs"])
    out = {"engine": eng["method"], "engine_ms": eng["ms_per_config_step"], "engine_fraction_of_peak": eng["fraction_of_peak"]}
    ref, onehot = best_torch(rows, "reference"), best_torch(rows, "one-hot")
    if ref:
        ms = ref["ms_per_config_step"]
        out.update({"torch_reference": ref["method"], "torch_reference_ms": ms, "engine_vs_torch_reference": ms / eng["ms_per_config_step"]})
        if "logging_epoch_ms" in ref:
            amortised = ms + (ref["logging_epoch_ms"] - ms) / REFERENCE_EPOCHS
            out.update({"torch_reference_logging_epoch_ms": ref["logging_epoch_ms"], "torch_reference_ms_incl_logging": amortised,
                        "engine_vs_torch_reference_incl_logging": amortised / eng["ms_per_config_step"]})
        out["target_20x_met"] = out["engine_vs_torch_reference"] >= 20
    if onehot:
        out.update({"torch_one_hot": onehot["method"], "torch_one_hot_ms": onehot["ms_per_config_step"],
                    "engine_vs_torch_one_hot": onehot["ms_per_config_step"] / eng["ms_per_config_step"]})
    return out


PER_STEP_COLUMNS = [harness.col("chunk", 5, lambda r: str(r["chunk"] or "")), harness.col("ms/cfg-step", 11, "{ms_per_config_step:.2f}")]


def print_methods(sec: dict, result=None) -> None:
    rows = sec["rows"]
    loop = next((r for r in rows if r["method"] == "loop"), None)
    bt = best_torch(rows, "reference") or best_torch(rows, "one-hot")
    print(f"\n== methods side by side: p {sec['p']}, N {sec['N']}, alpha {sec['alpha']} (M = {sec['n_train']} train rows); "
          f"fp32 matmul peak {sec['peak']['gflops']:.0f} GFLOP/s (n={sec['peak']['size']}, quiet samples {sec['peak']['quiet_samples']}); "
          f"vs torch = against {bt['method'] if bt else '-'}")
    col, ratio = harness.col, harness.ratio_col
    harness.table(rows, [col("method", 26, "{method}", "<"), *PER_STEP_COLUMNS, col("(median)", 9, "{ms_per_config_step_median:.2f}"),
                         col("cfg-steps/s", 11, "{config_steps_per_s:.1f}"), col("configs/s", 9, "{configs_per_s:.2f}"), col("GFLOP/s", 8, "{gflops:.1f}"),
                         harness.OF_PEAK, ratio("vs loop", 8, "ms_per_config_step", loop and loop["ms_per_config_step"], "{:.2f}x"),
                         ratio("vs torch", 8, "ms_per_config_step", bt and bt["ms_per_config_step"]), *harness.memory_columns()])
    h = sec["headline"]
    if "torch_reference_ms" in h:
        print(f"   target (engine >= 20x the torch reference loop per config-step): {'MET' if h['target_20x_met'] else 'MISSED'}: "
              f"{h['engine']} {h['engine_ms']:.2f} ms vs {h['torch_reference']} {h['torch_reference_ms']:.2f} ms = {h['engine_vs_torch_reference']:.1f}x")
        if "torch_reference_logging_epoch_ms" in h:
            print(f"   the reference's logging epoch (evaluations + IPR, once per {REFERENCE_EPOCHS}): {h['torch_reference_logging_epoch_ms']:.0f} ms; "
                  f"amortised {h['torch_reference_ms_incl_logging']:.2f} ms per config-step = {h['engine_vs_torch_reference_incl_logging']:.1f}x")
    if "torch_one_hot_ms" in h:
        print(f"   same math without the reference's per-epoch extras ({h['torch_one_hot']}): {h['torch_one_hot_ms']:.2f} ms = {h['engine_vs_torch_one_hot']:.1f}x")


def print_grid(sec: dict, result=None) -> None:
    print(f"\n== cost against grid size (engine; chunks by choose_chunk_size), p {sec['p']}, N {sec['N']}, peak {sec['peak_gflops']:.0f} GFLOP/s; "
          "each run logs at step 0 and at its last step (two evaluations over all p^2 pairs: at 10 steps they and the setup take about a quarter of the time)")
    col = harness.col
    harness.table(sec["rows"], [col("configs", 7, "{configs:d}"), col("steps", 5, "{steps:d}"), *PER_STEP_COLUMNS[:1],
                                col("chunks", 6, lambda r: str(-(-r["configs"] // r["chunk"]))), col("wall s", 7, "{wall_s:.2f}"), *PER_STEP_COLUMNS[1:],
                                col("configs/s", 9, "{configs_per_s:.2f}"), col("GFLOP/s", 8, "{gflops:.1f}"), harness.OF_PEAK,
                                *harness.memory_columns("xla MB/chunk")])


def print_sizes(sec: dict, result=None) -> None:
    print("\n== cost against problem size (alpha fixed): ms per config-step, fraction of peak, and how many times")
    print("   slower than the engine each other method is (torch at its default threads)")
    for s in sec["sizes"]:
        rows = s["rows"]
        eng = rows[0]  # the engine with the study's step
        parts = []
        for r in rows:
            slower = "" if r is eng else ", %.1fx" % (r["ms_per_config_step"] / eng["ms_per_config_step"])
            parts.append("%s %.3f ms (%.0f%%%s)" % (r["method"], r["ms_per_config_step"], 100 * r["fraction_of_peak"], slower))
        print("p %3d, N %4d (M %d, %.3f GFLOP/step, peak %.0f GFLOP/s): %s" % (s["p"], s["N"], s["n_train"], s["flops_per_step"] / 1e9, s["peak_gflops"], "; ".join(parts)))


SECTIONS = {"methods": (section_methods, print_methods), "grid": (section_grid, print_grid), "sizes": (section_sizes, print_sizes)}
LEGEND = ("ms/cfg-step = wall / (configs x steps), best quiet sample (median beside it); configs/s at the call's steps; "
          "GFLOP/s credits 6 M N p per config-step to every method (the engine's evaluations are overhead)")


def main(argv=None) -> dict:
    ap = harness.parser(__doc__, sections=SECTIONS, json_path="bench_out/grokking.json", wait_quiet=20.0, wait_budget=120.0,
                        quick="grid 1 8 64, two rounds, two sizes")
    ap.add_argument("--p", type=int, default=97)
    ap.add_argument("--N", type=int, default=500)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--steps", type=int, default=50, help="steps per measured call (methods section; grid sizes <= 8)")
    ap.add_argument("--torch-steps", type=int, default=10)
    ap.add_argument("--engine-configs", type=int, nargs="+", default=[4, 8], help="engine rows besides x1 in the methods section")
    ap.add_argument("--grid", type=int, nargs="+", default=[1, 8, 64, 512])
    ap.add_argument("--grid-steps", type=int, default=10, help="steps for grid sizes above 8")
    ap.add_argument("--sizes", nargs="+", default=["23,64", "47,192", "59,256", "97,500"], help="p,N pairs")
    ap.add_argument("--size-rounds", type=int, default=2)
    args = ap.parse_args(argv)
    if args.quick:
        args.grid, args.rounds, args.sizes = [1, 8, 64], 2, ["47,192", "97,500"]
    return harness.run(args, SECTIONS, LEGEND)


if __name__ == "__main__":
    main()
