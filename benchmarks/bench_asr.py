"""Side-by-side step cost of the CTC speech model (asr-canaries study): baseline, per-core clipping (PCC)
and per-example clipping (PEC), in one run.

The model and batches of the quick scale (``sims/studies/asr_canaries``: V 16, D 16, width 48, one
residual block, batch 32 of padded 32-frame utterances, CTC over 96 output frames, SGD + momentum behind a
batch global-norm clip). Methods, measured in the same process and interleaved round by round by
``benchmarks/harness.py``, each the study's own gradient (``run.method_gradient``) plus the update,
jit'd with the weights donated and called from a Python loop over --steps fixed batches:
  baseline          the mean gradient of the batch;
  pcc M=4 / M=8     per-core clipping with 4 or 8 cores (per-core batch 8 or 4): one gradient per
                    microbatch (vmap over microbatches), each clipped, averaged;
  pec               per-example clipping: vmap(grad) over the 32 examples, each clipped, averaged;
  torch pec loop    the same model in PyTorch with a Python loop over examples (Opacus-like per-sample
                    clipping), only when torch is importable; otherwise the row says so.
Reported: ms per step, and each method's cost relative to the baseline step. Wang, Thakkar, Mathews
(arXiv 2310.11739) state that per-core clipping is compute-neutral where PEC is not; our fact sheet's
pilot measured PCC about 2x and PEC 4-5x the baseline on 2 CPU cores. Those are the ratios to compare.

    python benchmarks/bench_asr.py            # about a minute on 2 cores
    python benchmarks/bench_asr.py --quick    # fewer steps and rounds
"""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import optax

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

from rote.sims.params import replace  # noqa: E402
from rote.sims.studies.asr_canaries import run as study_run  # noqa: E402
from rote.sims.studies.asr_canaries.model import build_model, init_params, param_count  # noqa: E402
from rote.sims.studies.asr_canaries.scales import quick_scale  # noqa: E402

SECTIONS = ("methods",)


def _setup(p, steps: int):
    model = build_model(p)
    data = jax.jit(lambda k: study_run.make_data(p, k))(jax.random.PRNGKey(0))
    w = init_params(model, p, jax.random.PRNGKey(1))
    perm = jax.random.permutation(jax.random.PRNGKey(2), data["multiset"])[: steps * p.batch_size].reshape(steps, p.batch_size)
    batches = [(data["x"][r], data["n"][r], data["y"][r], data["y_len"][r]) for r in perm]
    return model, w, batches


def jax_method(p, steps: int):
    model, w, batches = _setup(p, steps)
    opt = study_run.optimizer(p)

    def loss_fn(w, ex):
        x, n, y, yl = ex
        return study_run.ctc_losses(model.apply({"params": w}, x, n)[None], (n * p.upsample)[None], y[None], yl[None])[0]

    def step(w, state, batch):
        g = study_run.method_gradient(p, loss_fn, w, batch, p.clip)
        updates, state = opt.update(g, state, w)
        return optax.apply_updates(w, updates), state

    step = jax.jit(step, donate_argnums=(0, 1))
    fn, work = harness.python_loop(step, w, opt, [(b,) for b in batches])
    return fn, {**work, "flops": study_run.flops_per_config(replace(p, epochs=1)) * steps / max(1, p.training_size // p.batch_size)}


def torch_method(p, steps: int):
    """PyTorch per-example clipping by a Python loop over the examples (as Opacus's hook-free reference)."""
    import numpy as np
    import torch

    model, w, batches = _setup(p, steps)
    flat = {"/".join(str(getattr(q, "key", q)) for q in path): leaf for path, leaf in jax.tree_util.tree_flatten_with_path(w)[0]}
    tw = {name: torch.tensor(np.asarray(v), requires_grad=True) for name, v in flat.items()}
    names = sorted(tw)  # Conv1D_0, Conv1D_1, ..., Dense_0: the layer order
    layers = [(n[: -len("kernel")] + "kernel", n[: -len("kernel")] + "bias") for n in names if n.endswith("kernel")]
    tb = [tuple(torch.tensor(np.asarray(a)) for a in b) for b in batches]
    ctc = torch.nn.CTCLoss(blank=0, reduction="sum", zero_infinity=True)
    opt = torch.optim.SGD([tw[n] for n in names], lr=float(p.lr), momentum=float(p.momentum))
    k = p.kernel

    def patches(h):
        left = (k - 1) // 2
        hp = torch.nn.functional.pad(h, (0, 0, left, k - 1 - left))
        return torch.cat([hp[j : j + h.shape[0]] for j in range(k)], -1)

    def forward(x, n):
        mask = (torch.arange(x.shape[0]) < n).float()[:, None]
        (k0, b0), *blocks, (kl, bl) = [(tw[a], tw[b]) for a, b in layers]
        h = torch.relu(patches(x * mask) @ k0 + b0)
        for kk, bb in blocks:
            h = h + torch.relu(patches(h * mask) @ kk + bb)
        return (h @ kl + bl).reshape(x.shape[0] * p.upsample, p.vocab + 1)

    def go():
        for x, n, y, yl in tb:
            total = [torch.zeros_like(tw[q]) for q in names]
            for i in range(x.shape[0]):
                logp = torch.log_softmax(forward(x[i], n[i]), -1)[:, None, :]
                loss = ctc(logp, y[i : i + 1], (n[i : i + 1] * p.upsample), yl[i : i + 1]) / yl[i].clamp(min=1)
                grads = torch.autograd.grad(loss, [tw[q] for q in names])
                norm = torch.sqrt(sum((g**2).sum() for g in grads))
                f = torch.clamp(p.clip / (norm + 1e-30), max=1.0)
                for t, g in zip(total, grads):
                    t += f * g / x.shape[0]
            for q, t in zip(names, total):
                tw[q].grad = t
            opt.step()

    return go, {"configs": 1, "steps": steps, "flops": 6.0 * param_count(p) * p.frames * p.batch_size * steps}


def measure_methods(args, result):
    base = replace(quick_scale().base, clip=args.clip)
    methods = {"baseline": jax_method(base, args.steps)}
    for m in (4, 8):
        methods[f"pcc M={m}"] = jax_method(replace(base, method="pcc", cores=m), args.steps)
    methods["pec"] = jax_method(replace(base, method="pec"), args.steps)
    try:
        import torch  # noqa: F401

        methods["torch pec loop"] = torch_method(replace(base, method="pec"), max(1, args.steps // 10))
        torch_note = "torch per-example loop timed"
    except ImportError:
        torch_note = "torch not installed: the PyTorch per-example loop was skipped"
    harness.log(torch_note)

    def summarize(name, work, samples, peak):
        r = harness.row(name, work, samples, peak)
        r["ms_per_step"] = 1e3 * r["wall_s"] / work["steps"]
        return r

    out = harness.measure(methods, args, summarize)
    ref = next(r["ms_per_step"] for r in out["rows"] if r["method"] == "baseline")
    out["ratios"] = {r["method"]: r["ms_per_step"] / ref for r in out["rows"]}
    out["torch"] = torch_note
    return out


def show_methods(sec, result):
    ref = sec["ratios"]
    harness.table(sec["rows"], [harness.col("method", 16, "{method}", "<"), harness.col("ms/step", 9, "{ms_per_step:.2f}"),
                                harness.col("x baseline", 10, lambda r: f"{ref[r['method']]:.2f}x"), harness.col("quiet", 6, "{quiet_samples}")])
    print(sec["torch"])


def main(argv=None):
    ap = harness.parser(__doc__, sections=SECTIONS, json_path="bench_out/asr.json", wait_quiet=5.0, wait_budget=30.0,
                        quick="20 steps, 2 rounds")
    ap.add_argument("--steps", type=int, default=60, help="training steps per sample")
    ap.add_argument("--clip", type=float, default=0.1, help="clip norm C of PEC and PCC")
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.rounds = 20, 2
    if args.steps < 1 or not args.clip > 0:
        ap.error("--steps must be >= 1 and --clip > 0")
    return harness.run(args, {"methods": (measure_methods, show_methods)}, "ms/step = wall time per training step (best quiet sample)")


if __name__ == "__main__":
    main()
