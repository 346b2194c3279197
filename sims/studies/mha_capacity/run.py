"""Data, optimiser and training of the `mha-capacity` study: the pure ``run(params, key) -> metrics``.

Mahdavi, Liao, Thrampoulidis, arXiv 2306.02010, Sec. 5 (synthetic experiments). Data: queries, contexts
and labels with all entries U[0, 1]; 'fixed' (one shared context), 'random' (a context per example) or
'perm' (n distinct vectors of a bag per example). Training: full-batch Adam (PyTorch defaults, no weight
decay) with the official schedule (linear warm-up from 0.01 lr to lr over S/20 steps, then cosine to 0),
cross-entropy for classification (C >= 2) or squared error for regression (C = 1). Every ``log_every``
steps: training accuracy and loss on the T examples; a probe memorizes its T examples if the logged
training accuracy reaches target_acc (the official code stops training at accuracy 1.0 and keeps the
best checkpoint). The capacity is the largest T memorized, found by an adaptive search over T
(``run``). Regression counts an example memorized if |yhat - y| < REGRESSION_TOL.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ...params import replace
from .model import build_model
from .params import PERM_BAG, MHAParams

REGRESSION_TOL = 0.01  # |yhat - y| below this counts as memorized
PROBE_METRICS = ("probe_T", "probe_acc", "probe_loss", "probe_steps", "probe_used")
METRIC_DIMS = {**{name: ("probe",) for name in PROBE_METRICS}, "capacity": (), "capacity_fail": (), "search_done": (),
               "max_attn": ("example", "head"), "max_attn_init": ("example", "head")}


def make_data(params: MHAParams, key):
    """queries (T, d); contexts (1, n_max, d) if 'fixed' else (T, n_max, d); labels (T,) int classes
    (C >= 2) or floats in [0, 1] (C = 1). Drawn for T_max examples and cut to the first T, so training
    sets are nested in T for a seed, and contexts nested in n (the model reads the first n rows)."""
    kq, kc, ky, kp = jax.random.split(jax.random.fold_in(key, 0), 4)
    T, n, d = params.T_max, params.n_max, params.d
    queries = jax.random.uniform(kq, (T, d))
    if params.context == "fixed":
        contexts = jax.random.uniform(kc, (1, n, d))
    elif params.context == "random":
        contexts = jax.random.uniform(kc, (T, n, d))
    else:  # 'perm': n distinct vectors of a bag, in random order
        bag = jax.random.uniform(kc, (PERM_BAG, d))
        picks = jnp.argsort(jax.random.uniform(kp, (T, PERM_BAG)), axis=-1)[:, :n]
        contexts = bag[picks]
    labels = jax.random.uniform(ky, (T,)) if params.C == 1 else jax.random.randint(ky, (T,), 0, params.C)
    keep = params.T
    return queries[:keep], contexts if params.context == "fixed" else contexts[:keep], labels[:keep]


def schedule_shape(params: MHAParams):
    """Official schedule divided by lr: linear warm-up from 0.01 to 1 over S/20 steps, then cosine to 0."""
    warmup = max(1, params.steps // 20)
    return optax.warmup_cosine_decay_schedule(0.01, 1.0, warmup, params.steps, 0.0)


def optimizer(params: MHAParams):
    """Adam (PyTorch defaults) with the official schedule scaled by the traced peak lr."""
    shape = schedule_shape(params)
    return optax.chain(optax.scale_by_adam(b1=0.9, b2=0.999, eps=1e-8), optax.scale_by_schedule(lambda count: -params.lr * shape(count)))


def per_example(params: MHAParams, outputs, labels):
    """(loss (B,), memorized (B,) bool): cross-entropy and argmax match, or squared error and |err| < tol."""
    if params.C == 1:
        err = outputs[:, 0] - labels
        return err**2, jnp.abs(err) < REGRESSION_TOL
    loss = optax.softmax_cross_entropy_with_integer_labels(outputs, labels)
    return loss, jnp.argmax(outputs, -1) == labels


def train_probe(params: MHAParams, model, data, variables, T_active, early_stop: bool):
    """Train fresh weights ``variables`` on the first ``T_active`` (traced) rows of ``data`` for at most
    ``steps`` full-batch steps, checking every ``log_every``; with ``early_stop`` stop once training
    accuracy reaches ``target_acc`` (the official code stops at accuracy 1.0).

    Returns (reached, best_acc, min_loss, steps_used, attn): reached is bool, best_acc / min_loss the best
    logged training accuracy / loss, attn (rows, H_max, n_max) the attention of the final weights."""
    queries, contexts, labels = data
    head_mask = (jnp.arange(params.H_max) < params.H).astype(jnp.float32)
    sizes = (params.H, params.n, params.d_h)
    weight = (jnp.arange(queries.shape[0]) < T_active) / T_active  # (rows,): the mean over the T_active rows
    opt = optimizer(params)

    def loss_fn(v):
        outputs, _ = model.apply(v, queries, contexts, head_mask, *sizes)
        return jnp.sum(per_example(params, outputs, labels)[0] * weight)

    def step(carry, _):
        v, state = carry
        updates, state = opt.update(jax.grad(loss_fn)(v), state, v)
        return (optax.apply_updates(v, updates), state), None

    def block(carry):
        v, state, k, best_acc, min_loss, _ = carry
        (v, state), _ = jax.lax.scan(step, (v, state), None, length=params.log_every)
        outputs, _ = model.apply(v, queries, contexts, head_mask, *sizes)
        loss, hit = per_example(params, outputs, labels)
        best_acc = jnp.maximum(best_acc, jnp.sum(hit * weight))
        return v, state, k + 1, best_acc, jnp.minimum(min_loss, jnp.sum(loss * weight)), best_acc >= params.target_acc

    def running(carry):
        more = carry[2] < params.steps // params.log_every
        return more & ~carry[5] if early_stop else more  # carry[5]: reached target_acc

    init = (variables, opt.init(variables), 0, jnp.float32(0.0), jnp.float32(jnp.inf), jnp.bool_(False))
    v, _, k, best_acc, min_loss, _ = jax.lax.while_loop(running, block, init)
    _, attn = model.apply(v, queries, contexts, head_mask, *sizes)
    return best_acc >= params.target_acc, best_acc, min_loss, k * params.log_every, attn


def next_probe(params: MHAParams, T, lo, hi):
    """The search's next T and whether it is done, from the last probe T, the largest memorized T ``lo``
    (0: none yet) and the smallest failed T ``hi`` (T_max + 1: none yet): double until a failure, halve
    until a success, then bisect until hi - lo <= max(1, resolution lo). Done also at a search bound
    (T_max memorized, or T = 1 failed)."""
    no_fail, no_success = hi > params.T_max, lo == 0
    bracket_done = hi - lo <= jnp.maximum(1, jnp.floor(params.resolution * lo).astype(lo.dtype))
    T_next = jnp.where(no_fail, jnp.minimum(2 * T, params.T_max), jnp.where(no_success, jnp.maximum(T // 2, 1), (lo + hi) // 2))
    done = jnp.where(no_fail, lo >= params.T_max, jnp.where(no_success, hi <= 1, bracket_done))
    return T_next, done


def run(params: MHAParams, key) -> dict[str, jax.Array]:
    """Measure the capacity of one (H, n, d_h, seed) config.

    search 'bisect': probes T = T_start, then doubles (halves) until a probe fails (succeeds), then
    bisects; each probe trains fresh weights (the same init) on the first T of T_max examples. Returns
    probe_T, probe_acc, probe_loss, probe_steps, probe_used (probe,): each probe's T, best logged accuracy
    and loss, steps run, and whether the slot was used; capacity (): the largest T memorized at
    target_acc (0: none), capacity_fail (): the smallest T that failed (T_max + 1: none), search_done ():
    whether the bracket closed (or hit a bound) within max_probes; max_attn / max_attn_init (example,
    head): largest attention weight per example and head after training at T = capacity / at init (NaN
    for inactive heads and for examples beyond capacity).
    search 'fixed': one probe at T (the first T examples; no early stop), reported in the same fields.
    """
    fixed = params.search == "fixed"
    data = make_data(params, key) if fixed else make_data(replace(params, T=params.T_max), key)
    rows = data[0].shape[0]
    model = build_model(params)
    head_mask = (jnp.arange(params.H_max) < params.H).astype(jnp.float32)
    sizes = (params.H, params.n, params.d_h)
    variables = model.init(jax.random.fold_in(key, 1), data[0][:1], data[1][:1], head_mask, *sizes)
    _, attn0 = model.apply(variables, data[0], data[1], head_mask, *sizes)
    P = 1 if fixed else params.max_probes
    i32 = jnp.int32

    def body(state):
        k, T, lo, hi, _, rec, attn_best = state
        reached, acc, loss, steps, attn = train_probe(params, model, data, variables, T, early_stop=not fixed)
        rec = {name: rec[name].at[k].set(value) for name, value in
               (("probe_T", T), ("probe_acc", acc), ("probe_loss", loss), ("probe_steps", steps), ("probe_used", True))}
        lo, hi = jnp.where(reached, T, lo), jnp.where(reached, hi, T)
        attn_best = jnp.where(reached, attn, attn_best)
        T_next, done = next_probe(params, T, lo, hi)
        return k + 1, T_next, lo, hi, done | (k + 1 >= P), rec, attn_best

    records = {"probe_T": jnp.zeros(P, i32), "probe_acc": jnp.zeros(P), "probe_loss": jnp.zeros(P), "probe_steps": jnp.zeros(P, i32),
               "probe_used": jnp.zeros(P, bool)}
    T0 = params.T if fixed else params.T_start
    state = (i32(0), i32(T0), i32(0), i32(params.T_max + 1), jnp.bool_(False), records, jnp.zeros_like(attn0))
    _, T_last, lo, hi, _, records, attn = jax.lax.while_loop(lambda s: ~s[4], body, state)
    _, search_done = next_probe(params, T_last, lo, hi)
    if fixed:
        search_done = jnp.bool_(True)
    keep = (jnp.arange(rows) < lo)[:, None] & (head_mask[None, :] > 0)  # (rows, H_max)
    return {
        **records,
        "capacity": lo,
        "capacity_fail": hi,
        "search_done": search_done,
        "max_attn": jnp.where(keep, attn.max(-1), jnp.nan),
        "max_attn_init": jnp.where(keep, attn0.max(-1), jnp.nan),
    }


def coords(params: MHAParams) -> dict[str, np.ndarray]:
    probes = 1 if params.search == "fixed" else params.max_probes
    rows = params.T if params.search == "fixed" else params.T_max
    return {"probe": np.arange(probes), "example": np.arange(rows), "head": np.arange(params.H_max)}


def flops_per_example(params: MHAParams) -> float:
    """Forward FLOPs per example as computed (compiled sizes n_max, d_h_max, H_max), query-row form; a
    shared context counts its keys once."""
    d, D, n, dh, H, C = params.d, params.D, params.n_max, params.d_h_max, params.H_max, params.C
    if params.context == "fixed":
        return 2.0 * (d * D + H * D * dh + H * n * dh + H * D + D * C + H * n)
    # own context: embed n+1 rows, q = W_Q^T x (H D d_h), q W_K^T (H D d_h), scores and values (2 H n D)
    return 2.0 * ((n + 1) * d * D + 2 * H * D * dh + 2 * H * n * D + H * n + H * D + D * C)


def bytes_per_config(params: MHAParams) -> int:
    """Memory estimate (bytes) of one config's training step: float32 activations as the model computes
    them, x6 for the backward pass and temporaries. Per example: q (H d_h), scores / softmax / weights
    (3 H n); a context per example adds q W_K^T (H D), its embedded rows (n D) and values (H n), a shared
    context only its keys and values once. Measured against the compiled program in NOTES.md."""
    T, H, n, dh, D = _rows(params), params.H_max, params.n_max, params.d_h_max, params.D
    if params.context == "fixed":
        acts = T * H * (3 * n + dh) + n * (D + H * (dh + 1))
    else:
        acts = T * H * (3 * n + dh + D) + T * n * (D + H + params.d)
    return int(4 * 6 * (acts + T * (params.d + params.C)))


def _rows(params: MHAParams) -> int:
    """Rows a config trains on: T with search = 'fixed', else T_max (the search masks them)."""
    return params.T if params.search == "fixed" else params.T_max


def flops_per_config(params: MHAParams) -> float:
    """Training FLOPs of one config, an upper bound for a search (every probe runs its whole budget)."""
    probes = 1 if params.search == "fixed" else params.max_probes
    return 3.0 * flops_per_example(params) * _rows(params) * params.steps * probes
