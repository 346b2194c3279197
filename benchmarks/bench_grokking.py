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
               the issue's "about 310 ms" is that contended regime, not the reference's work.

Headline: the engine as a sweep runs it (the ``engine xC`` row with the most configs) against the torch
reference loop (the issue's target: >= 20x per config-step), with and without its logging epoch
amortised, and against ``torch one-hot`` (the same math without the reference's per-epoch extras).

Reported per method: ms per config-step (wall / (configs x steps)), config-steps/s and configs/s,
achieved GFLOP/s and its fraction of the peak measured in the same run, and peak memory.

FLOPs: every method is credited 6 M N p per config-step (2 M N p forward, x3 with the backward; M train rows), whatever it
executes: GFLOP/s = 6 M N p / (ms per config-step). That is conservative for the engine, whose time
also holds one forward over all p^2 pairs per logged step (2 p^3 N each; with ``log_every = steps``
here, two per call; the rate with them credited, ``STUDY.flops_per_config``, is ``gflops_incl_eval``
in the JSON), and generous for the one-hot reference, which also multiplies by the 2p-wide one-hot
input (4 M 2p N more FLOPs per step).

Peak memory, two measures: ``rss``: the rise of the process's peak resident set (VmHWM, reset through
/proc/self/clear_refs before the measured call) over the resident set just before it; memory the
allocator kept from earlier calls is not counted again, so it is a lower bound after a warm-up call
(torch is measured on its first call). ``xla``: the compiled program's own buffers (arguments +
outputs + temporaries, ``compiled.memory_analysis()``), exact for what XLA allocates per call.

Timing: each sample records the wall time and the fraction of the machine's CPU that other processes
used meanwhile (/proc/stat minus this process's CPU time). The best sample among the quiet ones (other
processes under 5 % of the machine) is reported, or the best sample if none was quiet, with the share
of quiet samples; medians are in the JSON. Before each sample the run waits up to --wait-quiet s (20)
for a quiet half second, at most --wait-budget s (120) over the whole run, so a busy machine bounds the
run time; later samples are taken as they come (the quiet column says how many were quiet).

    python benchmarks/bench_grokking.py                  # everything (about 5-10 min on 2 quiet cores)
    python benchmarks/bench_grokking.py --quick          # smaller grid sizes, fewer rounds
    python benchmarks/bench_grokking.py --sections methods --rounds 5
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers beside this file
import _bench_common as common  # noqa: E402
from _bench_common import QUIET, add_program_bytes, best, peak_method, run_rounds, timed, xla_bytes  # noqa: E402

# --------------------------------------------------------------------------------------------------
# Timing and memory
# --------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------
# Methods: each returns (fn running the measured work, dict describing the work)
# --------------------------------------------------------------------------------------------------


def sweep_configs(base, n_configs: int, steps: int):
    """n_configs configs of one static group (alpha fixed), varying the traced fields as a sweep does."""
    from rote.sims.params import replace

    params = replace(base, steps=steps, log_every=steps)
    xis = np.round(np.linspace(0.0, 0.9, 19), 4)
    wds = (0.0, 5.0, 15.0, 20.0)
    return [replace(params, xi=float(xis[i % 19]), weight_decay=wds[(i // 19) % 4], seed=i) for i in range(n_configs)]


def _plain_step_study():
    """The grokking study with the training step differentiating the plain loss by ``jax.grad`` (the
    step before the hand-written gradient), for a side-by-side row."""
    import dataclasses

    from rote.sims.studies.grokking import STUDY, model
    from rote.sims.studies.grokking import run as training

    def plain_loss(w, m, n, y):
        return model.mse(model.forward(w, m, n), y)

    def run(params, key):  # the study's run with the plain loss
        weights, curves = training.train(params, key, loss=plain_loss)
        return {**curves, "ipr": model.neuron_ipr(weights)}

    return dataclasses.replace(STUDY, run=run)


def engine_method(base, n_configs: int, steps: int, plain_step: bool = False):
    """All n_configs through engine.run_chunk, in chunks of engine.choose_chunk_size."""
    from rote.sims import engine
    from rote.sims.studies.grokking import STUDY

    study = _plain_step_study() if plain_step else STUDY
    cfgs = sweep_configs(base, n_configs, steps)
    size = engine.choose_chunk_size(study, cfgs[0], n_configs)
    engine.run_chunk(study, cfgs[:size], size)  # compile (cached per chunk size)

    def go():
        for start in range(0, n_configs, size):
            engine.run_chunk(study, cfgs[start : start + size], size)

    def program_bytes():
        stacked = engine.stack_params(cfgs[:size])
        return xla_bytes(engine._batched_run(study.run), stacked)

    from rote.sims.studies.grokking.run import flops_per_step

    return go, {"configs": n_configs, "steps": steps, "chunk": size, "chunks": -(-n_configs // size), "flops": n_configs * steps * flops_per_step(cfgs[0]),
                "flops_incl_eval": sum(study.flops_per_config(c) for c in cfgs), "program_bytes": program_bytes}


def loop_method(base, steps: int, fast: bool):
    """One config, a jit'd step with donated buffers, a Python loop over steps."""
    import optax

    from rote.sims.params import replace
    from rote.sims.studies.grokking import gradient, model
    from rote.sims.studies.grokking import run as training

    params = replace(base, xi=0.35, weight_decay=5.0)
    key = jax.random.PRNGKey(0)
    data = training.make_data(params, key)
    k = params.n_train
    m, n, y = data["m"][:k], data["n"][:k], data["noisy"][:k]
    opt = optax.adamw(params.lr, b1=0.9, b2=0.98, eps=1e-8, weight_decay=params.weight_decay)
    loss = gradient.train_loss if fast else (lambda w, m, n, y: model.mse(model.forward(w, m, n), y))

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def step(w, state):
        grads = jax.grad(loss)(w, m, n, y)
        updates, state = opt.update(grads, state, w)
        return optax.apply_updates(w, updates), state

    w0 = model.init_weights(params, key)
    fresh = lambda: (jax.tree_util.tree_map(jnp.copy, w0), opt.init(w0))  # noqa: E731 (donated each call)
    jax.block_until_ready(step(*fresh()))  # compile

    def go():
        w, state = fresh()
        for _ in range(steps):
            w, state = step(w, state)
        jax.block_until_ready(w)

    def program_bytes():
        return xla_bytes(step, *fresh())

    return go, {"configs": 1, "steps": steps, "flops": steps * training.flops_per_step(params), "program_bytes": program_bytes}


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
    from rote.sims.studies.grokking import run as training

    p, N, k = base.p, base.N, base.n_train
    gen = torch.Generator().manual_seed(0)
    extra = {}
    if variant == "reference":
        d = torch_reference_data(p, k, xi, gen)
        model = torch_reference_model(p, N, gen)
        weights = list(model.parameters())
        opt = torch.optim.AdamW(weights, lr=0.01, betas=(0.9, 0.98), eps=1e-8, weight_decay=weight_decay)

        def train():
            for _ in range(steps):  # the reference's epochs without logging (1999 of its 2000)
                torch_reference_epoch(model, opt, d, if_data=False)

        extra["logging_epoch"] = lambda: torch_reference_epoch(model, opt, d, if_data=True)
    else:
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

    n_threads = threads or torch.get_num_threads()

    def with_threads(fn):
        def go():
            before = torch.get_num_threads()
            torch.set_num_threads(n_threads)
            try:
                return fn()
            finally:
                torch.set_num_threads(before)

        return go

    if "logging_epoch" in extra:
        extra["logging_epoch"] = with_threads(extra["logging_epoch"])
    return with_threads(train), {"configs": 1, "steps": steps, "flops": steps * training.flops_per_step(base), "threads": n_threads, **extra}


def torch_methods(base, steps: int, methods: dict, variants=("reference", "one-hot", "gather")) -> None:
    """Add the torch rows to ``methods``: each variant at torch's default threads and, if that differs,
    at one thread (on this shared 2-core machine two OpenMP threads degrade badly when another process
    takes a core; the ratios use the faster setting)."""
    try:
        import torch
    except ImportError:
        return
    default = torch.get_num_threads()
    for variant in variants:
        for threads in sorted({default, 1}, reverse=True):
            name = f"torch {variant}" if threads == default else f"torch {variant}, {threads} thread"
            methods[name] = torch_method(base, steps, variant, threads=threads)  # not called before the rounds: its first sample is its first call


def best_torch(rows, variant: str = "reference") -> dict | None:
    """The fastest row of a torch variant over its thread settings."""
    rows = [r for r in rows if r["method"] == f"torch {variant}" or r["method"].startswith(f"torch {variant},")]
    return min(rows, key=lambda r: r["ms_per_config_step"]) if rows else None


# --------------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------------


def summarize(name: str, work: dict, samples: list[dict], peak_gflops: float) -> dict:
    b = best(samples)
    config_steps = work["configs"] * work["steps"]
    gflops = work["flops"] / b["wall"] / 1e9
    row = {
        "method": name,
        "configs": work["configs"],
        "steps": work["steps"],
        "chunk": work.get("chunk"),
        "ms_per_config_step": 1e3 * b["wall"] / config_steps,
        "ms_per_config_step_median": 1e3 * b["median"] / config_steps,
        "config_steps_per_s": config_steps / b["wall"],
        "configs_per_s": work["configs"] / b["wall"],
        "gflops": gflops,
        "fraction_of_peak": gflops / peak_gflops,
        "gflops_incl_eval": work.get("flops_incl_eval", work["flops"]) / b["wall"] / 1e9,
        "cpu_ms_per_config_step": 1e3 * b["cpu"] / config_steps,
        "quiet_samples": b["quiet"],
        "others_mean": b["others_mean"],
        "wall_s": b["wall"],
        "rss_peak_bytes": b["rss"],
        "samples": samples,
    }
    if "threads" in work:
        row["threads"] = work["threads"]
    return row


def section_methods(args, base, log) -> dict:
    """Every method at one problem size, side by side."""
    log(f"methods at p {base.p}, N {base.N}, alpha {base.alpha}: building and compiling")
    methods = {"peak": peak_method(args.peak_size, args.peak_reps)}
    engine_sizes = sorted({1, *args.engine_configs})
    for c in engine_sizes:
        methods[f"engine x{c}"] = engine_method(base, c, args.steps)
    chunk = methods[f"engine x{max(engine_sizes)}"][1]["chunk"]
    methods[f"engine x{chunk} plain step"] = engine_method(base, chunk, args.steps, plain_step=True)
    methods["loop"] = loop_method(base, args.steps, fast=False)
    methods["loop (fast step)"] = loop_method(base, args.steps, fast=True)
    torch_methods(base, args.torch_steps, methods)
    samples = run_rounds(methods, args.rounds, log)
    peak_gflops = max(methods["peak"][1]["flops"] / s["wall"] / 1e9 for s in samples["peak"])
    rows = {}
    for name, (fn, work) in methods.items():
        if name == "peak":
            continue
        rows[name] = summarize(name, work, samples[name], peak_gflops)
    add_program_bytes(methods, rows)
    if "torch reference" in methods:  # the reference's logging epoch (once per 2000 epochs), timed apart at default threads
        log("  torch reference: the reference's logging epoch")
        b = best([timed(methods["torch reference"][1]["logging_epoch"]) for _ in range(2)])
        for name in rows:
            if name.startswith("torch reference"):
                rows[name]["logging_epoch_ms"], rows[name]["logging_epoch_quiet"] = 1e3 * b["wall"], b["quiet"]
    peak = {"gflops": peak_gflops, "size": args.peak_size, "samples": samples["peak"], "quiet_samples": best(samples["peak"])["quiet"]}
    return {"p": base.p, "N": base.N, "alpha": base.alpha, "n_train": base.n_train, "peak": peak, "rows": list(rows.values())}


def section_grid(args, base, peak_gflops: float, log) -> dict:
    """Cost against the number of configs (engine only; chunks by choose_chunk_size)."""
    rows = []
    for c in args.grid:
        steps = args.steps if c <= 8 else args.grid_steps
        log(f"grid: {c} configs x {steps} steps")
        fn, work = engine_method(base, c, steps)
        samples = [timed(fn) for _ in range(1 if c >= 64 else args.rounds)]
        row = summarize(f"engine x{c}", work, samples, peak_gflops)
        row["xla_bytes"] = work["program_bytes"]()
        rows.append(row)
    return {"p": base.p, "N": base.N, "rows": rows}


def section_sizes(args, log) -> dict:
    """Cost against the problem size (p, N): engine (one chunk), loops and torch, side by side."""
    from rote.sims.params import replace
    from rote.sims.studies.grokking.params import GrokkingParams

    out = []
    for spec in args.sizes:
        p, N = (int(x) for x in spec.split(","))
        base = GrokkingParams(p=p, N=N, alpha=args.alpha)
        flops = 6.0 * base.n_train * N * p
        steps = int(min(200, max(50, 2e10 / flops)))  # >= 20 GFLOP of training per call; evaluations <= 3 %
        steps -= steps % 10
        base = replace(base, steps=steps, log_every=steps)
        log(f"size p {p}, N {N}: {steps} steps per call")
        from rote.sims import engine
        from rote.sims.studies.grokking import STUDY

        chunk = engine.choose_chunk_size(STUDY, base, 4096)
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
        methods["peak"] = peak_method(args.peak_size, args.peak_reps)
        samples = run_rounds(methods, args.size_rounds, log)
        peak_gflops = max(methods["peak"][1]["flops"] / s["wall"] / 1e9 for s in samples["peak"])
        rows = {name: summarize(name, work, samples[name], peak_gflops) for name, (fn, work) in methods.items() if name != "peak"}
        add_program_bytes(methods, rows)
        rows = list(rows.values())
        out.append({"p": p, "N": N, "alpha": args.alpha, "n_train": base.n_train, "flops_per_step": flops, "peak_gflops": peak_gflops, "rows": rows})
    return {"sizes": out}


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def _mb(b):
    return f"{b / 2**20:.0f}" if b is not None else "-"


REFERENCE_EPOCHS = 2000  # the reference's epochs per configuration (Training_scripts/phase_diagrams_wd.py); it logs at the last


def headline(sec: dict) -> dict:
    """The issue's ratios: the engine as a sweep runs it (the 'engine xC' row with the most configs) vs
    the torch reference loop (its faster thread setting; with its logging epoch amortised over 2000
    epochs, and without) and vs the same math without the reference's per-epoch extras (torch one-hot,
    its faster thread setting)."""
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


def print_methods(sec: dict) -> None:
    rows = sec["rows"]
    ref = {r["method"]: r["ms_per_config_step"] for r in rows}
    bt = best_torch(rows, "reference") or best_torch(rows, "one-hot")
    loop_ms, torch_ms = ref.get("loop"), bt["ms_per_config_step"] if bt else None
    print(f"\n== methods side by side: p {sec['p']}, N {sec['N']}, alpha {sec['alpha']} (M = {sec['n_train']} train rows); "
          f"fp32 matmul peak {sec['peak']['gflops']:.0f} GFLOP/s (n={sec['peak']['size']}, quiet samples {sec['peak']['quiet_samples']}); "
          f"vs torch = against {bt['method'] if bt else '-'}")
    print(f"{'method':26s} {'chunk':>5s} {'ms/cfg-step':>11s} {'(median)':>9s} {'cfg-steps/s':>11s} {'configs/s':>9s} {'GFLOP/s':>8s} {'of peak':>7s} "
          f"{'vs loop':>8s} {'vs torch':>8s} {'rss MB':>6s} {'xla MB':>6s} {'quiet':>6s}")
    for r in rows:
        vs_loop = f"{loop_ms / r['ms_per_config_step']:.2f}x" if loop_ms else "-"
        vs_torch = f"{torch_ms / r['ms_per_config_step']:.1f}x" if torch_ms else "-"
        print(f"{r['method']:26s} {r['chunk'] or '':>5} {r['ms_per_config_step']:11.2f} {r['ms_per_config_step_median']:9.2f} "
              f"{r['config_steps_per_s']:11.1f} {r['configs_per_s']:9.2f} {r['gflops']:8.1f} {100 * r['fraction_of_peak']:6.1f}% {vs_loop:>8s} {vs_torch:>8s} "
              f"{_mb(r.get('rss_peak_bytes')):>6s} {_mb(r.get('xla_bytes')):>6s} {r['quiet_samples']:>6s}")
    h = headline(sec)
    sec["headline"] = h
    if "torch_reference_ms" in h:
        print(f"   issue target (engine >= 20x the torch reference loop per config-step): {'MET' if h['target_20x_met'] else 'MISSED'}: "
              f"{h['engine']} {h['engine_ms']:.2f} ms vs {h['torch_reference']} {h['torch_reference_ms']:.2f} ms = {h['engine_vs_torch_reference']:.1f}x")
        if "torch_reference_logging_epoch_ms" in h:
            print(f"   the reference's logging epoch (evaluations + IPR, once per {REFERENCE_EPOCHS}): {h['torch_reference_logging_epoch_ms']:.0f} ms; "
                  f"amortised {h['torch_reference_ms_incl_logging']:.2f} ms per config-step = {h['engine_vs_torch_reference_incl_logging']:.1f}x")
    if "torch_one_hot_ms" in h:
        print(f"   same math without the reference's per-epoch extras ({h['torch_one_hot']}): {h['torch_one_hot_ms']:.2f} ms = {h['engine_vs_torch_one_hot']:.1f}x")


def print_grid(sec: dict) -> None:
    print(f"\n== cost against grid size (engine; chunks by choose_chunk_size), p {sec['p']}, N {sec['N']}; each run logs at "
          "step 0 and at its last step (two evaluations over all p^2 pairs: at 10 steps they and the setup take about a quarter of the time)")
    print(f"{'configs':>7s} {'steps':>5s} {'chunk':>5s} {'chunks':>6s} {'wall s':>7s} {'ms/cfg-step':>11s} {'configs/s':>9s} "
          f"{'GFLOP/s':>8s} {'of peak':>7s} {'rss MB':>6s} {'xla MB/chunk':>12s}")
    for r in sec["rows"]:
        chunks = -(-r["configs"] // r["chunk"])
        print(f"{r['configs']:7d} {r['steps']:5d} {r['chunk']:5d} {chunks:6d} {r['wall_s']:7.2f} {r['ms_per_config_step']:11.2f} "
              f"{r['configs_per_s']:9.2f} {r['gflops']:8.1f} {100 * r['fraction_of_peak']:6.1f}% {_mb(r.get('rss_peak_bytes')):>6s} {_mb(r.get('xla_bytes')):>12s}")


def print_sizes(sec: dict) -> None:
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


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--p", type=int, default=97)
    ap.add_argument("--N", type=int, default=500)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--steps", type=int, default=50, help="steps per measured call (methods section; grid sizes <= 8)")
    ap.add_argument("--torch-steps", type=int, default=10)
    ap.add_argument("--engine-configs", type=int, nargs="+", default=[4, 8], help="engine rows besides x1 in the methods section")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--grid", type=int, nargs="+", default=[1, 8, 64, 512])
    ap.add_argument("--grid-steps", type=int, default=10, help="steps for grid sizes above 8")
    ap.add_argument("--sizes", nargs="+", default=["23,64", "47,192", "59,256", "97,500"], help="p,N pairs")
    ap.add_argument("--size-rounds", type=int, default=2)
    ap.add_argument("--peak-size", type=int, default=2048)
    ap.add_argument("--peak-reps", type=int, default=3)
    ap.add_argument("--sections", nargs="+", default=["methods", "grid", "sizes"], choices=["methods", "grid", "sizes"])
    ap.add_argument("--wait-quiet", type=float, default=20.0, metavar="S",
                    help="before each sample wait up to S seconds for other processes to go quiet (0: never wait)")
    ap.add_argument("--wait-budget", type=float, default=120.0, metavar="S", help="at most S seconds of such waiting over the whole run")
    ap.add_argument("--quick", action="store_true", help="grid 1 8 64, two rounds, two sizes")
    ap.add_argument("--json", default="bench_out/grokking.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.grid, args.rounds, args.sizes = [1, 8, 64], 2, ["47,192", "97,500"]
    common.WAIT_QUIET_S, common.WAIT_BUDGET_S = args.wait_quiet, args.wait_budget
    t_start, load_start = time.perf_counter(), os.getloadavg()

    from rote.sims.studies.grokking.params import GrokkingParams

    log = common.log
    base = GrokkingParams(p=args.p, N=args.N, alpha=args.alpha, steps=args.steps, log_every=args.steps)
    machine = common.machine_info()
    log(f"machine: {machine}")
    result = {"args": vars(args), "machine": machine, "quiet_threshold": QUIET}
    peak_gflops = None
    if "methods" in args.sections:
        result["methods"] = section_methods(args, base, log)
        peak_gflops = result["methods"]["peak"]["gflops"]
    if "grid" in args.sections:
        if peak_gflops is None:
            fn, work = peak_method(args.peak_size, args.peak_reps)
            peak_gflops = max(work["flops"] / timed(fn)["wall"] / 1e9 for _ in range(3))
        result["grid"] = section_grid(args, base, peak_gflops, log)
    if "sizes" in args.sections:
        result["sizes"] = section_sizes(args, log)

    print(f"\nmachine: {machine['processor']}, {machine['cpus']} CPUs, {machine['devices']}x {machine['device']} ({machine['backend']}), "
          f"JAX {machine['jax']}, {machine['torch']}")
    print("ms/cfg-step = wall / (configs x steps), best quiet sample (median beside it); configs/s at the call's steps; "
          "GFLOP/s credits 6 M N p per config-step to every method (the engine's evaluations are overhead); "
          "rss = peak resident-set rise, xla = the compiled program's buffers")
    result["wall_s"], result["waited_for_quiet_s"] = time.perf_counter() - t_start, common.waited_s()
    print(f"run {result['wall_s']:.0f} s, of which {result['waited_for_quiet_s']:.0f} s waiting for quiet (--wait-quiet {args.wait_quiet:g}, --wait-budget {args.wait_budget:g}); "
          f"load average (1, 5, 15 min) at start {' '.join(f'{x:.2f}' for x in load_start)}, at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if "methods" in result:
        print_methods(result["methods"])
    if "grid" in result:
        print_grid(result["grid"])
    if "sizes" in result:
        print_sizes(result["sizes"])
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str))
    print(f"\nwrote {out}")
    return result


if __name__ == "__main__":
    main()
