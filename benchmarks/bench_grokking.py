"""Side-by-side speed of the grokking training step, reported as ratios, in one run.

Measured in the same process, same machine, same minute:
  peak   the machine's fp32 matmul rate (jit'd jnp.matmul on square matrices, best of several sizes);
  engine the vectorised engine: ``jit(vmap(run))`` over C configs (sims.engine.run_chunk);
  loop   a per-configuration loop in the same framework, as the reference code does: one model, a
         jit'd single step, a Python loop over steps;
  torch  the reference math in PyTorch on the CPU (full-batch AdamW, MSE, one-hot-free gather), if
         torch is installed (optional extra; never imported by the package).

Reports ms per config-step, achieved GFLOP/s (training FLOPs 6 M N p per step, fact sheet 6.2) and
the fraction of the measured peak, as a table and JSON.

    python benchmarks/bench_grokking.py [--p 97 --N 500 --alpha 0.5] [--configs 1 8] [--steps 50]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np


def best_time(fn, repeats: int = 3) -> float:
    fn()  # warm-up (compile)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def matmul_peak(sizes=(512, 1024, 2048)) -> dict:
    """Best fp32 matmul GFLOP/s over a few square sizes (the machine's practical peak)."""
    best = {"gflops": 0.0}
    for n in sizes:
        a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
        b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32)
        f = jax.jit(jnp.matmul)
        reps = max(1, int(2e10 // (2 * n**3)))

        def go():
            for _ in range(reps):
                out = f(a, b)
            out.block_until_ready()

        t = best_time(go)
        gflops = 2 * n**3 * reps / t / 1e9
        if gflops > best["gflops"]:
            best = {"gflops": gflops, "size": n}
    return best


def bench_engine(base, configs: int, steps: int) -> float:
    """Seconds per config-step of the engine's jit(vmap(run)) on ``configs`` configs."""
    from rote.sims import engine
    from rote.sims.params import replace
    from rote.sims.studies.grokking import STUDY

    params = replace(base, steps=steps, log_every=steps)
    cfgs = [replace(params, xi=0.35, weight_decay=float(i % 4) * 5.0, seed=i) for i in range(configs)]

    def go():
        out = engine.run_chunk(STUDY, cfgs, configs)
        jax.block_until_ready(out)

    return best_time(go, repeats=2) / (configs * steps)


def bench_loop(base, steps: int) -> float:
    """Seconds per step of a single model trained by a Python loop over a jit'd step."""
    import optax

    from rote.sims.params import replace
    from rote.sims.studies import grokking as g

    params = replace(base, xi=0.35, weight_decay=5.0)
    key = jax.random.PRNGKey(0)
    data = g.make_data(params, key)
    n_tr = params.n_train
    m, n, y = data["m"][:n_tr], data["n"][:n_tr], data["noisy"][:n_tr]
    opt = optax.adamw(params.lr, b1=0.9, b2=0.98, eps=1e-8, weight_decay=params.weight_decay)

    @jax.jit
    def step(w, state):
        grads = jax.grad(lambda w: g.mse(g.forward(w, m, n), y))(w)
        updates, state = opt.update(grads, state, w)
        return optax.apply_updates(w, updates), state

    w0 = g.init_weights(params, key)

    def go():
        w, state = w0, opt.init(w0)
        for _ in range(steps):
            w, state = step(w, state)
        jax.block_until_ready(w)

    return best_time(go, repeats=2) / steps


def bench_torch(base, steps: int) -> float | None:
    """Seconds per step of the reference math in PyTorch (CPU), or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    from rote.sims.studies import grokking as g

    p, N, n_tr = base.p, base.N, base.n_train
    torch.manual_seed(0)
    idx = torch.randperm(p * p)[:n_tr]
    m, n = idx // p, idx % p
    y = torch.nn.functional.one_hot((m + n) % p, p).float()
    std = (16 * N) ** (-1 / 3)
    U, V, W = (torch.nn.Parameter(std * torch.randn(*s)) for s in ((p, N), (p, N), (N, p)))
    opt = torch.optim.AdamW([U, V, W], lr=0.01, betas=(0.9, 0.98), weight_decay=5.0)

    def go():
        for _ in range(steps):
            opt.zero_grad()
            h = U[m] + V[n]
            loss = torch.nn.functional.mse_loss((h * h) @ W, y)
            loss.backward()
            opt.step()

    del g
    return best_time(go, repeats=2) / steps


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--p", type=int, default=97)
    ap.add_argument("--N", type=int, default=500)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--configs", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--json", default="bench_out/grokking.json")
    args = ap.parse_args(argv)

    from rote.sims.studies.grokking import GrokkingParams, flops_per_step

    base = GrokkingParams(p=args.p, N=args.N, alpha=args.alpha, steps=args.steps, log_every=args.steps)
    flops = flops_per_step(base)
    peak = matmul_peak()
    rows = []

    def add(name, sec):
        if sec is not None:
            rows.append({"method": name, "ms_per_config_step": 1e3 * sec, "gflops": flops / sec / 1e9, "fraction_of_peak": flops / sec / 1e9 / peak["gflops"]})

    for c in args.configs:
        add(f"engine jit(vmap) x{c}", bench_engine(base, c, args.steps))
    add("loop (jit step, python loop)", bench_loop(base, args.steps))
    add("torch CPU loop", bench_torch(base, max(5, args.steps // 5)))

    ref = {r["method"]: r["ms_per_config_step"] for r in rows}
    loop_ms = ref.get("loop (jit step, python loop)")
    torch_ms = ref.get("torch CPU loop")
    print(f"grokking step, p {args.p}, N {args.N}, alpha {args.alpha} (M = {base.n_train} train rows, {flops / 1e9:.2f} GFLOP/step)")
    print(f"machine: {platform.processor() or platform.machine()}, {jax.device_count()}x {jax.devices()[0].device_kind}; fp32 matmul peak {peak['gflops']:.1f} GFLOP/s (n={peak['size']})")
    print(f"{'method':32s} {'ms/config-step':>15s} {'GFLOP/s':>9s} {'of peak':>8s} {'vs loop':>8s} {'vs torch':>9s}")
    for r in rows:
        vs_loop = f"{loop_ms / r['ms_per_config_step']:.2f}x" if loop_ms else "-"
        vs_torch = f"{torch_ms / r['ms_per_config_step']:.2f}x" if torch_ms else "-"
        print(f"{r['method']:32s} {r['ms_per_config_step']:15.2f} {r['gflops']:9.1f} {100 * r['fraction_of_peak']:7.1f}% {vs_loop:>8s} {vs_torch:>9s}")
    result = {"params": vars(args), "flops_per_step": flops, "peak": peak, "rows": rows, "jax": jax.__version__, "device": jax.devices()[0].device_kind}
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
