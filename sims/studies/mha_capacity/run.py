"""Data, optimiser and training of the `mha-capacity` study: the pure ``run(params, key) -> metrics``.

Mahdavi, Liao, Thrampoulidis, arXiv 2306.02010, Sec. 5 (synthetic experiments). Data: queries, contexts
and labels with all entries U[0, 1]; 'fixed' (one shared context), 'random' (a context per example) or
'perm' (n distinct vectors of a bag per example). Training: full-batch Adam (PyTorch defaults, no weight
decay) with the official schedule (linear warm-up from 0.01 lr to lr over S/20 steps, then cosine to 0),
cross-entropy for classification (C >= 2) or squared error for regression (C = 1). Every ``log_every``
steps: training accuracy and loss on the T examples; the reported accuracy is that of the lowest-loss
logged step (the official best checkpoint, ``analysis.summarize``). Regression counts an example
memorized if |yhat - y| < REGRESSION_TOL.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .model import build_model
from .params import PERM_BAG, MHAParams

REGRESSION_TOL = 0.01  # |yhat - y| below this counts as memorized
METRIC_DIMS = {"train_loss": ("step",), "train_acc": ("step",), "max_attn": ("example", "head"), "max_attn_init": ("example", "head")}


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


def run(params: MHAParams, key) -> dict[str, jax.Array]:
    """Train on the first T of T_max examples. Returns train_acc, train_loss (step,) and the per-example,
    per-head largest attention weight after training and at init, max_attn(_init) (example, head)
    (NaN for inactive heads)."""
    queries, contexts, labels = make_data(params, key)
    head_mask = (jnp.arange(params.H_max) < params.H).astype(jnp.float32)
    model = build_model(params)
    sizes = (params.H, params.n, params.d_h)
    variables = model.init(jax.random.fold_in(key, 1), queries[:1], contexts[:1], head_mask, *sizes)
    opt = optimizer(params)

    def loss_fn(variables):
        outputs, _ = model.apply(variables, queries, contexts, head_mask, *sizes)
        loss, _ = per_example(params, outputs, labels)
        return jnp.mean(loss)

    def evaluate(variables):
        outputs, attn = model.apply(variables, queries, contexts, head_mask, *sizes)
        loss, hit = per_example(params, outputs, labels)
        return jnp.mean(loss), jnp.mean(hit), attn

    def step(carry, _):
        variables, state = carry
        grads = jax.grad(loss_fn)(variables)
        updates, state = opt.update(grads, state, variables)
        return (optax.apply_updates(variables, updates), state), None

    def block(carry, _):
        carry, _ = jax.lax.scan(step, carry, None, length=params.log_every)
        loss, acc, _ = evaluate(carry[0])
        return carry, (loss, acc)

    loss0, acc0, attn0 = evaluate(variables)
    (variables, _), (losses, accs) = jax.lax.scan(block, (variables, opt.init(variables)), None, length=params.steps // params.log_every)
    _, _, attn = evaluate(variables)
    active = jnp.broadcast_to(head_mask[None, :] > 0, (params.T, params.H_max))
    return {
        "train_loss": jnp.concatenate([loss0[None], losses]),
        "train_acc": jnp.concatenate([acc0[None], accs]),
        "max_attn": jnp.where(active, attn.max(-1), jnp.nan),
        "max_attn_init": jnp.where(active, attn0.max(-1), jnp.nan),
    }


def coords(params: MHAParams) -> dict[str, np.ndarray]:
    return {"step": np.arange(0, params.steps + 1, params.log_every), "example": np.arange(params.T), "head": np.arange(params.H_max)}


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
    T, H, n, dh, D = params.T, params.H_max, params.n_max, params.d_h_max, params.D
    if params.context == "fixed":
        acts = T * H * (3 * n + dh) + n * (D + H * (dh + 1))
    else:
        acts = T * H * (3 * n + dh + D) + T * n * (D + H + params.d)
    return int(4 * 6 * (acts + T * (params.d + params.C)))


def flops_per_config(params: MHAParams) -> float:
    return 3.0 * flops_per_example(params) * params.T * params.steps
