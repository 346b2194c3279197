"""Data, optimiser and training of the `grokking` study: the pure ``run(params, key) -> metrics``.

Data (arXiv 2310.13061, Sec. 2, and the paper's code): all p^2 ordered pairs with label (m + n) mod p
(or (m n) mod p, App. P); one fixed shuffle per data seed; the first floor(alpha p^2) pairs are train,
the rest test; the first floor(xi n_train) train pairs get labels drawn uniformly from {0..p-1} (so a
corrupted label is right with probability 1/p). Train sets are nested in alpha, corrupted sets nested
in xi, and every cell with the same seed shares the init: paired comparisons, as in the paper.

Training: AdamW (``optax.inject_hyperparams``, traced lr and weight decay), betas (0.9, 0.98), eps 1e-8,
decoupled decay on every weight, on train rows only (alpha is static, so n_train is a shape); full batch
or minibatches of a fresh permutation per epoch. The default model trains by the hand-written gradient
of gradient.py; every other model, loss or regularizer by ``jax.grad``. Every ``log_every`` steps,
inside ``lax.scan``, one forward over all p^2 pairs gives the curves of metrics.CURVES.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import model
from .gradient import train_loss
from .metrics import CURVES, evaluate
from .params import GrokkingParams, is_default
from .pruning import PRUNE_RANDOM_ORDERS, prune_metric_names, pruning_curves

METRIC_DIMS = {**{k: ("step",) for k in CURVES}, "ipr": ("neuron",), "bn_gamma": ("neuron",), **{k: ("neuron",) for k in prune_metric_names()}}
DIVERGENCE_METRICS = ("train_loss", "test_loss")


def make_data(params: GrokkingParams, key):
    """All p^2 pairs in the fixed shuffled order, with labels and masks.

    Returns dict of (p^2,) arrays: m, n, true (label), noisy (label after corruption), is_train,
    is_corrupt. Position i < n_train is train; i < n_corrupt is corrupted, n_corrupt =
    floor(xi n_train + 1e-4) so that a product that is an integer in exact arithmetic is not lost to
    float32 rounding (xi has at most a few decimals, n_train <= 10^4).
    """
    p, n_train = params.p, params.n_train
    shuffle_key, label_key = jax.random.split(jax.random.fold_in(key, 0))
    order = jax.random.permutation(shuffle_key, p * p)
    m, n = order // p, order % p
    true = (m + n) % p if params.operation == "add" else (m * n) % p
    position = jnp.arange(p * p)
    n_corrupt = jnp.floor(params.xi * n_train + 1e-4).astype(jnp.int32)
    is_train = position < n_train
    is_corrupt = position < n_corrupt
    random_labels = jax.random.randint(label_key, (p * p,), 0, p)
    noisy = jnp.where(is_corrupt, random_labels, true)
    return dict(m=m, n=n, true=true, noisy=noisy, is_train=is_train, is_corrupt=is_corrupt)


def optimizer(params: GrokkingParams):
    """AdamW with traced hyperparameters (PyTorch semantics: decay multiplied by the lr)."""
    return optax.inject_hyperparams(optax.adamw)(
        learning_rate=params.lr, b1=0.9, b2=0.98, eps=1e-8, weight_decay=params.weight_decay
    )


def epoch_orders(params: GrokkingParams, key):
    """The minibatch order of every epoch the run touches, (ceil(steps / E), n_train) int32, E =
    n_train // batch_size: a fresh permutation of the train rows per epoch. None for full batch.
    Drawn once before training, not at every step (a per-step sort of n_train keys dominates a small
    batch's step; NOTES.md); the table is at most about steps * batch_size ints."""
    n_train, bs = params.n_train, params.batch_size
    if bs == 0:
        return None
    n_epochs = -(-params.steps // (n_train // bs))
    epoch_key = jax.random.fold_in(key, 4)
    return jax.vmap(lambda e: jax.random.permutation(jax.random.fold_in(epoch_key, e), n_train))(jnp.arange(n_epochs))


def batch_positions(params: GrokkingParams, key, t, orders=None):
    """Positions (within the n_train train rows) of the rows used at step t: all of them (full batch),
    or batch t mod E of epoch t // E of a fresh permutation per epoch, E = n_train // batch_size (the
    last partial batch dropped, as PyTorch's DataLoader(drop_last=True) in the paper's code).
    ``orders``: ``epoch_orders(params, key)`` when already drawn (train draws it once)."""
    n_train, bs = params.n_train, params.batch_size
    if bs == 0:
        return None
    per_epoch = n_train // bs
    epoch, b = t // per_epoch, t % per_epoch
    if orders is None:
        order = jax.random.permutation(jax.random.fold_in(jax.random.fold_in(key, 4), epoch), n_train)
    else:
        order = orders[epoch]
    return jax.lax.dynamic_slice(order, (b * bs,), (bs,))


def train(params: GrokkingParams, key, loss=None):
    """Train one config. Returns (checkpoint, curves dict of (steps/log_every + 1,) arrays); the
    checkpoint is the weights dict (model.py; with BatchNorm also gamma, beta and the running
    statistics bn_mean, bn_var, all (N,)).

    regularizer 'none': ``loss(weights, m, n, labels)`` is differentiated by ``jax.grad`` at each step;
    default ``gradient.train_loss`` (the loss ``mse(forward(...))`` with the hand-written gradient; a
    plain one is for tests and benchmarks); other models, activations or losses: ``model.mean_loss``.
    'dropout' / 'batchnorm': ``model.regularized_loss`` (``loss`` must be None). Per-step randomness
    (dropout masks, minibatch order) derives from the config key and the step counter."""
    data = make_data(params, key)
    weights = model.init_weights(params, key)
    bn_stats = None
    if params.regularizer == "batchnorm":
        bn_params, bn_stats = model.init_bn(params)
        weights = {**weights, **bn_params}
    if params.regularizer == "none" and loss is None:
        loss = train_loss if is_default(params) else (lambda w, m, n, y: model.mean_loss(w, m, n, y, params))
    elif params.regularizer != "none" and loss is not None:
        raise ValueError("a custom loss is only supported with regularizer 'none'")
    n_train = params.n_train
    m_tr, n_tr, y_tr = data["m"][:n_train], data["n"][:n_train], data["noisy"][:n_train]
    opt = optimizer(params)
    dropout_key = jax.random.fold_in(key, 3)
    orders = epoch_orders(params, key)

    def step(carry, _):
        w, state, stats, t = carry
        rows = batch_positions(params, key, t, orders)
        m, n, y = (m_tr, n_tr, y_tr) if rows is None else (m_tr[rows], n_tr[rows], y_tr[rows])
        if params.regularizer == "none":
            grads = jax.grad(loss)(w, m, n, y)
        else:
            grads, stats = jax.grad(model.regularized_loss, has_aux=True)(w, m, n, y, params, jax.random.fold_in(dropout_key, t), stats)
        updates, state = opt.update(grads, state, w)
        return (optax.apply_updates(w, updates), state, stats, t + 1), None

    def block(carry, _):
        carry, _ = jax.lax.scan(step, carry, None, length=params.log_every)
        return carry, evaluate(model.checkpoint_of(carry[0], carry[2]), data, params)

    first = evaluate(model.checkpoint_of(weights, bn_stats), data, params)
    init = (weights, opt.init(weights), bn_stats, jnp.zeros((), jnp.int32))
    (weights, _, bn_stats, _), curves = jax.lax.scan(block, init, None, length=params.steps // params.log_every)
    curves = {k: jnp.concatenate([first[k][None], curves[k]]) for k in CURVES}
    return model.checkpoint_of(weights, bn_stats), curves


def run(params: GrokkingParams, key) -> dict[str, jax.Array]:
    """The study's pure run: curves over logged steps (CURVES, (steps/log_every + 1,)); per-neuron IPR
    at the end (N,; model.input_ipr); BatchNorm |gamma| (N,) (NaN without BatchNorm); pruning curves
    (N,) per pruning.prune_metric_names() (NaN when ``prune_curves`` is off)."""
    checkpoint, curves = train(params, key)
    ipr = model.input_ipr(checkpoint, params)
    N = params.N
    gamma = jnp.abs(checkpoint["gamma"]) if params.regularizer == "batchnorm" else jnp.full(N, jnp.nan)
    if params.prune_curves:
        prune = pruning_curves(checkpoint, make_data(params, key), ipr, key)
    else:
        prune = {k: jnp.full(N, jnp.nan) for k in prune_metric_names()}
    return {**curves, "ipr": ipr, "bn_gamma": gamma, **prune}


def coords(params: GrokkingParams) -> dict[str, np.ndarray]:
    return {"step": np.arange(0, params.steps + 1, params.log_every), "neuron": np.arange(params.N)}


# --------------------------------------------------------------------------------------------------
# Cost (chunk sizing and the progress line)
# --------------------------------------------------------------------------------------------------


def bytes_per_config(params: GrokkingParams) -> int:
    """Rough peak device memory of one config: activations and grads on the train rows plus the eval
    forward on all p^2 rows (h, h^2, logits), weights with Adam moments, times 2 for temporaries."""
    rows = params.p**2
    per_row = 4 * model.floats_per_row(params)  # 3 N + 3 p for the default model
    weights = 4 * 3 * params.p * params.N * 4 if params.model == "mlp2" else 4 * 4 * (2 * params.p * params.N + (1 + 2 * model.MLP_RATIO) * params.N**2)
    return 2 * (rows * per_row + weights)


def flops_per_step(params: GrokkingParams) -> float:
    """Training FLOPs per step on M rows (n_train, or the minibatch): 3 M times the forward matmuls of
    model.forward_flops_per_row (about 6 M N p for the default model)."""
    return 3.0 * params.rows_per_step * model.forward_flops_per_row(params)


def flops_per_config(params: GrokkingParams) -> float:
    """Training, evaluation every log_every steps (2 p^3 N each) and, if on, the pruning curves: one
    forward plus N rank-1 updates of the p^2 x p logits per order (2 + PRUNE_RANDOM_ORDERS orders)."""
    evals = params.steps // params.log_every + 1
    prune = (2 + PRUNE_RANDOM_ORDERS) * 4.0 * params.p**3 * params.N if params.prune_curves else 0.0
    return params.steps * flops_per_step(params) + evals * params.p**2 * model.forward_flops_per_row(params) + prune
