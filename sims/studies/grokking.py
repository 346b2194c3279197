"""Study `grokking`: two-layer quadratic MLP on label-corrupted (m + n) mod p.

Doshi, Das, He, Gromov, "To grok or not to grok" (arXiv 2310.13061); fact sheet
shared/papers/grokking_corruption.md, sections 1 and 6.1.

Model (paper Sec. 2): f(m, n) = W (U e_m + V e_n)^2, U, V (N, p), W (p, N), no biases, every entry
N(0, (16N)^(-2/3)). The first layer is a gather (its gradient a scatter-add); the one-hot input is
never built. We store U and V transposed, (p, N), so the gather reads contiguous rows.

Data (paper Sec. 2, official code): all p^2 ordered pairs with label (m + n) mod p; one fixed shuffle
per data seed; the first floor(alpha p^2) pairs are train, the rest test; the first
floor(xi n_train) train pairs get labels drawn uniformly from {0..p-1} (so a corrupted label is right
with probability 1/p). Train sets are nested in alpha, corrupted sets nested in xi, and every cell
with the same seed shares the init: paired comparisons, as in the paper.
Decision (float32): floor(xi * n_train + 1e-4), so a product that is an integer in exact arithmetic
is not lost to float32 rounding (xi has at most a few decimals, n_train <= 10^4).

Training: full-batch AdamW (optax.inject_hyperparams, traced lr and weight decay), betas (0.9, 0.98),
eps 1e-8, decoupled decay on every weight, MSE against the one-hot of the (noisy) label averaged over
examples and the p outputs, on train rows only (alpha is static, so n_train is a shape). Every
``log_every`` steps, inside ``lax.scan``, one forward over all p^2 pairs gives train / test /
corrupted / uncorrupted accuracy, losses and the mean IPR.

Speed (README, Performance): the training loss ``train_loss`` has a hand-written gradient (a
``jax.custom_vjp``, equal to ``jax.grad`` of ``mse(forward(...))`` to float rounding). On CPU it walks
the train rows in blocks that stay in cache and trains vmapped configs one after another (a
``custom_vmap`` rule), since one config already occupies every core.
"""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr
from jax.custom_batching import custom_vmap

from ...theory import grokking as theory
from ..errors import ConfigError
from ..params import replace, static, study_params, traced
from ..study import Scale, Study, param_value
from . import grokking_models as models

CURVES = (
    "train_acc",  # vs the (noisy) training labels
    "test_acc",
    "corrupt_acc",  # corrupted subset vs its noisy labels (memorization of corrupted labels)
    "corrupt_true_acc",  # corrupted subset vs the true labels (the direct inversion signal)
    "clean_acc",  # uncorrupted train subset
    "train_loss",
    "test_loss",
    "mean_ipr",  # mean over neurons of per-neuron IPR (zero neurons masked)
)


REGULARIZERS = ("none", "dropout", "batchnorm")
BN_EPS, BN_MOMENTUM = 1e-5, 0.1  # PyTorch BatchNorm1d defaults

MAX_P = 4096  # p^2 pairs are materialised per config: 16.8 M pairs at the bound


@study_params
class GrokkingParams:
    """Parameters of one run. Static fields fix shapes; traced ones may differ inside a vmapped chunk."""

    p: int = static(97, "modulus (paper 97)")
    N: int = static(500, "hidden width (paper 500)")
    steps: int = static(2000, "full-batch optimizer steps")
    log_every: int = static(10, "log metrics every this many steps")
    alpha: float = static(0.5, "training fraction of the p^2 pairs; static because n_train is a shape")
    operation: str = static("add", "'add': (m+n) mod p, 'mul': (m n) mod p")
    xi: float = traced(0.0, "fraction of training labels corrupted, in [0, 1]")
    weight_decay: float = traced(0.0, "AdamW decoupled weight decay (multiplied by lr)")
    lr: float = traced(0.01, "AdamW learning rate")
    seed: int = traced(0, "data shuffle, corrupted labels and init all derive from this seed")
    regularizer: str = static("none", "'none' (fast hand-written gradient), 'dropout' or 'batchnorm' (plain jax.grad)")
    dropout: float = traced(0.0, "dropout rate on the hidden pre-activation (needs regularizer='dropout')")
    batch_size: int = static(0, "minibatch size; 0 = full batch. Each epoch a fresh permutation, last partial batch dropped")
    prune_curves: int = static(0, "1: compute the IPR-ranked pruning curves at the end of training; 0: NaN (an int 0/1 like every CLI-settable field)")
    # Decision (issue 4): the architecture, activation and loss are *static*, like ``regularizer``: each
    # changes the compiled program, so each is its own compiled group, and the default (mlp2, quadratic,
    # mse) keeps the hand-written gradient. Other combinations: grokking_models.py, plain jax.grad.
    model: str = static("mlp2", "'mlp2' (paper Sec. 2), 'mlp3' (3-layer ReLU MLP, Fig. 7b) or 'transformer' (1 encoder block, Fig. 7a; N = model dimension d)")
    activation: str = static("quadratic", "mlp2 hidden activation: 'quadratic' (x^2) or 'relu' (App. N)")
    loss: str = static("mse", "'mse' (paper default) or 'ce' (softmax cross-entropy, App. M)")
    heads: int = static(4, "attention heads of the transformer (paper 4); must divide N")

    def validate(self):
        if not (isinstance(self.p, (int, np.integer)) and 2 <= self.p <= MAX_P):
            raise ConfigError(f"p must be an integer in [2, {MAX_P}], got {self.p}")
        if not (isinstance(self.N, int) and self.N >= 1):
            raise ConfigError(f"N must be a positive integer, got {self.N}")
        if not (0.0 <= self.xi <= 1.0):
            raise ConfigError(f"xi must lie in [0, 1], got {self.xi}")
        if not (0.0 < self.alpha < 1.0):
            raise ConfigError(f"alpha must lie in (0, 1), got {self.alpha}")
        n_train = self.n_train
        if n_train < 1 or n_train >= self.p**2:
            raise ConfigError(
                f"alpha {self.alpha} with p {self.p} leaves {n_train} training and {self.p**2 - n_train} test pairs; both must be >= 1"
            )
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if not (isinstance(self.steps, int) and self.steps >= 1):
            raise ConfigError(f"steps must be a positive integer, got {self.steps}")
        if not (isinstance(self.log_every, int) and self.log_every >= 1 and self.steps % self.log_every == 0):
            raise ConfigError(f"log_every ({self.log_every}) must be a positive divisor of steps ({self.steps})")
        if self.operation not in ("add", "mul"):
            raise ConfigError(f"operation must be 'add' or 'mul', got {self.operation!r}")
        if not (isinstance(self.seed, (int, np.integer)) and 0 <= self.seed < 2**31):
            raise ConfigError(f"seed must be an integer in [0, 2^31), got {self.seed}")
        if self.regularizer not in REGULARIZERS:
            raise ConfigError(f"regularizer must be one of {', '.join(map(repr, REGULARIZERS))}, got {self.regularizer!r}")
        if not (0.0 <= self.dropout < 1.0):
            raise ConfigError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.dropout > 0 and self.regularizer != "dropout":
            raise ConfigError(f"dropout {self.dropout} needs regularizer='dropout' (got {self.regularizer!r})")
        if not (isinstance(self.batch_size, (int, np.integer)) and 0 <= self.batch_size <= n_train):
            raise ConfigError(f"batch_size must be an integer in [0, n_train = {n_train}] (0 = full batch), got {self.batch_size}")
        if self.regularizer == "batchnorm" and self.rows_per_step < 2:
            raise ConfigError("BatchNorm needs at least 2 rows per step (batch statistics)")
        if not (isinstance(self.prune_curves, (int, np.integer)) and self.prune_curves in (0, 1)):
            raise ConfigError(f"prune_curves must be 0 or 1, got {self.prune_curves!r}")
        for name, allowed in (("model", models.MODELS), ("activation", models.ACTIVATIONS), ("loss", models.LOSSES)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {getattr(self, name)!r}")
        if self.activation != "quadratic" and self.model != "mlp2":
            raise ConfigError(f"activation {self.activation!r} applies to model 'mlp2' only ({self.model!r} has ReLU built in)")
        if not models.is_default(self) and (self.regularizer != "none" or self.prune_curves):
            raise ConfigError("regularizer and prune_curves need the default model (mlp2, quadratic activation, mse loss)")
        if not (isinstance(self.heads, (int, np.integer)) and self.heads >= 1 and (self.model != "transformer" or self.N % self.heads == 0)):
            raise ConfigError(f"heads must be a positive integer (a divisor of N = {self.N} for the transformer), got {self.heads!r}")

    @property
    def n_train(self) -> int:
        return math.floor(self.alpha * self.p**2 + 1e-9)

    @property
    def rows_per_step(self) -> int:
        """Training rows in one step: the minibatch size, or n_train for full batch."""
        return self.batch_size or self.n_train


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------


def make_data(params: GrokkingParams, key):
    """All p^2 pairs in the fixed shuffled order, with labels and masks.

    Returns dict of (p^2,) arrays: m, n, true (label), noisy (label after corruption), is_train,
    is_corrupt. Position i < n_train is train; i < n_corrupt is corrupted.
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


# --------------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------------


def init_weights(params: GrokkingParams, key) -> dict[str, jax.Array]:
    """U^T, V^T (p, N) and W^T (N, p), every entry N(0, (16N)^(-2/3)) (paper Sec. 2)."""
    std = (16.0 * params.N) ** (-1.0 / 3.0)
    ku, kv, kw = jax.random.split(jax.random.fold_in(key, 1), 3)
    shape = (params.p, params.N)
    return {
        "Ut": std * jax.random.normal(ku, shape),
        "Vt": std * jax.random.normal(kv, shape),
        "Wt": std * jax.random.normal(kw, shape[::-1]),
    }


def forward(weights, m, n):
    """Logits (B, p) for index vectors m, n (B,): (U^T[m] + V^T[n])^2 @ W^T."""
    h = weights["Ut"][m] + weights["Vt"][n]
    return (h * h) @ weights["Wt"]


def mse(logits, labels):
    """Mean over examples and outputs of (f - onehot)^2 (PyTorch MSELoss default reduction)."""
    return jnp.mean((logits - jax.nn.one_hot(labels, logits.shape[-1])) ** 2)


# ---- The training loss and its hand-written gradient ----------------------------------------------
#
# On CPU the step is limited by how often the (rows, N) arrays h^2, dh go through memory, not by the
# matmuls alone: the gradient walks the train rows in blocks whose arrays stay in cache, and when
# configs are vmapped (the engine's chunks) it trains them one after another, each with the same
# blocks, because one config's matmuls already occupy every core and a batch of configs only
# multiplies the bytes per block. Small configs (one block) stay batched: there the batch amortises
# the per-operation overhead. Other backends (GPU) take all rows and all configs at once.
# Measured on 2 CPU cores, side by side (benchmarks/bench_grokking.py, engine chunks of 4): paper size
# 8.0-8.3 ms per config-step with jax.grad of the plain loss, 4.9-5.0 ms with this gradient (about 60 %
# of the measured fp32 matmul peak). Blocks of 1176 rows (4 per step) beat 588 rows by about 10 % and
# no blocks by 20-25 % for one config; the configs of a chunk batched instead of sequential cost 15 %.

CPU_BLOCK_BYTES = 2_400_000  # bytes of one (rows, N) float32 array per block on CPU (paper size: 4 blocks of 1176 rows)


def row_blocks(n_rows: int, N: int) -> tuple[int, int]:
    """(number of blocks, rows per block) on CPU: blocks of about CPU_BLOCK_BYTES per (rows, N) float32
    array; the last block is padded with masked rows."""
    n_blocks = max(1, round(n_rows * N * 4 / CPU_BLOCK_BYTES))
    return n_blocks, -(-n_rows // n_blocks)


def loss_and_grad(weights, m, n, labels, n_blocks: int = 1):
    """``mse(forward(weights, m, n), labels)`` and its gradient, written out by hand.

    With h = U^T[m] + V^T[n] (M, N), a = h^2, logits = a W^T (M, p) and e = logits - onehot(labels):
    loss = sum(e^2) / (M p); g = 2 e / (M p); dW^T = a^T g; dh = 2 h (g W); dU^T, dV^T = dh summed
    over the rows of each m, n (scatter-add). The rows are walked in ``n_blocks`` blocks
    (``lax.scan``; the last one padded with masked rows), accumulating the three gradients. The one-hot
    target is never built (a compare inside the fused subtraction). Returns (loss, grads) with grads
    shaped like ``weights``.
    """
    Ut, Vt, Wt = weights["Ut"], weights["Vt"], weights["Wt"]
    n_rows, p = m.shape[0], Ut.shape[0]
    rows = -(-n_rows // n_blocks)
    scale = 2.0 / (n_rows * p)

    def block(carry, xs):
        sq_err, dUt, dVt, dWt = carry
        mb, nb, yb, valid = xs
        a = (Ut[mb] + Vt[nb]) ** 2
        err = jnp.where(valid[:, None], a @ Wt - (yb[:, None] == jnp.arange(p)).astype(a.dtype), 0.0)
        g = scale * err
        # Gather h again from tables XLA cannot identify with the ones above: it then fuses each gather
        # into its consumer instead of writing U^T[m] and V^T[n] to memory for both.
        Ut2, Vt2 = jax.lax.optimization_barrier((Ut, Vt))
        dh = 2.0 * (Ut2[mb] + Vt2[nb]) * (g @ Wt.T)
        dWt = dWt + (g.T @ a).T  # (p, rows) @ (rows, N): on CPU faster than a.T @ g, which copies a transposed
        return (sq_err + jnp.sum(err * err), dUt.at[mb].add(dh), dVt.at[nb].add(dh), dWt), None

    pad = n_blocks * rows - n_rows  # padded rows point at pair (0, 0) and are masked out of err
    xs = tuple(jnp.pad(x, (0, pad)).reshape(n_blocks, rows) for x in (m, n, labels, jnp.ones(n_rows, bool)))
    zeros = (jnp.zeros((), Ut.dtype), jnp.zeros_like(Ut), jnp.zeros_like(Vt), jnp.zeros_like(Wt))
    if n_blocks == 1:
        carry, _ = block(zeros, tuple(x[0] for x in xs))
    else:
        carry, _ = jax.lax.scan(block, zeros, xs)
    sq_err, dUt, dVt, dWt = carry
    return sq_err / (n_rows * p), {"Ut": dUt, "Vt": dVt, "Wt": dWt}


@custom_vmap
def _cpu_loss_and_grad(weights, m, n, labels):
    """loss_and_grad in CPU-sized blocks; vmapped, see _cpu_loss_and_grad_batched."""
    return loss_and_grad(weights, m, n, labels, row_blocks(m.shape[0], weights["Ut"].shape[1])[0])


@_cpu_loss_and_grad.def_vmap
def _cpu_loss_and_grad_batched(axis_size, in_batched, weights, m, n, labels):
    """A batch of configs: one after another (``lax.map``) in CPU-sized blocks when one config alone
    needs several blocks, else all at once (``vmap``, one block). With several local devices the
    batch may be sharded over them, and a loop over a sharded axis would gather it onto every device:
    there the configs stay batched, in blocks sized for a device's share of the batch."""
    args = jax.tree_util.tree_map(lambda x, b: x if b else jnp.broadcast_to(x, (axis_size, *x.shape)), (weights, m, n, labels), tuple(in_batched))
    n_rows, N = m.shape[-1], weights["Ut"].shape[-1]
    n_blocks = row_blocks(n_rows, N)[0]
    if n_blocks > 1 and jax.local_device_count() == 1:
        out = jax.lax.map(lambda a: loss_and_grad(*a, n_blocks=n_blocks), args)
    else:
        per_device = -(-axis_size // jax.local_device_count())
        n_blocks = row_blocks(per_device * n_rows, N)[0] if n_blocks > 1 else 1
        out = jax.vmap(lambda *a: loss_and_grad(*a, n_blocks=n_blocks))(*args)
    return out, jax.tree_util.tree_map(lambda _: True, out)


@jax.custom_vjp
def train_loss(weights, m, n, labels):
    """The training loss ``mse(forward(weights, m, n), labels)``. Its gradient is ``loss_and_grad``'s
    (computed in the forward pass of the custom VJP, which then only scales it), in CPU-sized blocks
    on CPU (see above)."""
    return mse(forward(weights, m, n), labels)


def _train_loss_fwd(weights, m, n, labels):
    if jax.default_backend() == "cpu":
        return _cpu_loss_and_grad(weights, m, n, labels)
    return loss_and_grad(weights, m, n, labels)


def _train_loss_bwd(grads, cotangent):
    return jax.tree_util.tree_map(lambda g: cotangent * g, grads), None, None, None


train_loss.defvjp(_train_loss_fwd, _train_loss_bwd)


def neuron_ipr(weights):
    """Per-neuron IPR (N,) in the paper's layout: rows U[k,:], V[k,:], W[:,k]."""
    return theory.neuron_ipr(weights["Ut"].T, weights["Vt"].T, weights["Wt"].T)


# ---- Regularized forward passes (dropout, BatchNorm): plain jax.grad ------------------------------
#
# Decision (issue 4): the regularizer is a *static* field, so each regularizer is its own compiled
# group and the default configs (regularizer 'none') keep the hand-written gradient above untouched.
# The dropout *rate* is traced (one compile for a whole dropout axis; rate 0 equals no dropout
# exactly). BatchNorm has no per-config rate, so the static switch is all it needs.


def init_bn(params: GrokkingParams):
    """BatchNorm1d(N) parameters and buffers, PyTorch init: gamma 1, beta 0, running mean 0, var 1."""
    N = params.N
    return {"gamma": jnp.ones(N), "beta": jnp.zeros(N)}, {"mean": jnp.zeros(N), "var": jnp.ones(N)}


def features(checkpoint, m, n):
    """Eval-mode hidden features (B, N) whose product with W^T gives the logits: (U^T[m] + V^T[n])^2,
    then, for a BatchNorm checkpoint (keys gamma, beta, bn_mean, bn_var of shape (N,)),
    (a - running mean) / sqrt(running var + eps) * gamma + beta."""
    h = checkpoint["Ut"][m] + checkpoint["Vt"][n]
    a = h * h
    if "gamma" in checkpoint:
        a = (a - checkpoint["bn_mean"]) / jnp.sqrt(checkpoint["bn_var"] + BN_EPS) * checkpoint["gamma"] + checkpoint["beta"]
    return a


def checkpoint_of(weights, bn_stats):
    """The trained weights plus BatchNorm running statistics (bn_mean, bn_var) when there are any."""
    return weights if bn_stats is None else {**weights, "bn_mean": bn_stats["mean"], "bn_var": bn_stats["var"]}


def train_features(weights, m, n, params: GrokkingParams, key, bn_stats=None):
    """Training-mode hidden features (B, N) and the new running BatchNorm statistics.

    Dropout (paper code): keep ~ Bernoulli(1 - q) per (row, neuron), h <- keep * h / (1 - q) before the
    square, so train-time features are inflated by 1/(1 - q) on average (fact sheet 5.2; replicated,
    not fixed). BatchNorm after the square, PyTorch training mode: normalize with the batch mean and
    the biased batch variance; running statistics updated with momentum 0.1 and the unbiased variance.
    """
    h = weights["Ut"][m] + weights["Vt"][n]
    if params.regularizer == "dropout":
        q = params.dropout
        keep = jax.random.bernoulli(key, 1.0 - q, h.shape)
        h = jnp.where(keep, h / (1.0 - q), 0.0)
    a = h * h
    new_stats = bn_stats
    if params.regularizer == "batchnorm":
        B = a.shape[0]
        mean, var = jnp.mean(a, 0), jnp.var(a, 0)
        a = (a - mean) / jnp.sqrt(var + BN_EPS) * weights["gamma"] + weights["beta"]
        mean, var = jax.lax.stop_gradient((mean, var))
        new_stats = {
            "mean": (1 - BN_MOMENTUM) * bn_stats["mean"] + BN_MOMENTUM * mean,
            "var": (1 - BN_MOMENTUM) * bn_stats["var"] + BN_MOMENTUM * var * B / (B - 1),
        }
    return a, new_stats


def regularized_loss(weights, m, n, labels, params: GrokkingParams, key, bn_stats=None):
    """Training-mode MSE with dropout or BatchNorm (``train_features``); returns (loss, new running BN
    statistics)."""
    a, new_stats = train_features(weights, m, n, params, key, bn_stats)
    return mse(a @ weights["Wt"], labels), new_stats


def metrics_from_logits(logits, data, loss: str = "mse"):
    """Accuracies and losses of logits (p^2, p) on all pairs: dict of scalars train_acc, test_acc,
    corrupt_acc (vs noisy labels), corrupt_true_acc, clean_acc, train_loss, test_loss (the training
    loss ``loss``, MSE or cross-entropy, against the noisy labels)."""
    pred = jnp.argmax(logits, -1)
    if loss == "mse":
        sq_err = jnp.mean((logits - jax.nn.one_hot(data["noisy"], logits.shape[-1])) ** 2, axis=-1)
    else:
        sq_err = models.row_losses(logits, data["noisy"], loss)

    def mean_over(mask, values):
        return jnp.sum(jnp.where(mask, values, 0.0)) / jnp.maximum(jnp.sum(mask), 1)

    hit_noisy = (pred == data["noisy"]).astype(jnp.float32)
    hit_true = (pred == data["true"]).astype(jnp.float32)
    train, corrupt = data["is_train"], data["is_corrupt"]
    test, clean = ~train, train & ~corrupt
    n_corrupt = jnp.sum(corrupt)
    nan_if_empty = jnp.where(n_corrupt > 0, 1.0, jnp.nan)
    return {
        "train_acc": mean_over(train, hit_noisy),
        "test_acc": mean_over(test, hit_true),
        "corrupt_acc": mean_over(corrupt, hit_noisy) * nan_if_empty,
        "corrupt_true_acc": mean_over(corrupt, hit_true) * nan_if_empty,
        "clean_acc": mean_over(clean, hit_true),
        "train_loss": mean_over(train, sq_err),
        "test_loss": mean_over(test, sq_err),
    }


def evaluate(checkpoint, data, params: GrokkingParams | None = None):
    """Metrics on all p^2 pairs (one eval-mode forward). Returns dict of scalars named as CURVES.
    ``params`` picks the model (grokking_models); None or the default model: the quadratic MLP."""
    if params is None or models.is_default(params):
        logits = features(checkpoint, data["m"], data["n"]) @ checkpoint["Wt"]
        return {**metrics_from_logits(logits, data), "mean_ipr": jnp.nanmean(neuron_ipr(checkpoint))}
    logits = models.logits(checkpoint, data["m"], data["n"], params)
    return {**metrics_from_logits(logits, data, params.loss), "mean_ipr": jnp.nanmean(models.input_ipr(checkpoint, params))}


def optimizer(params: GrokkingParams):
    """AdamW with traced hyperparameters (PyTorch semantics: decay multiplied by the lr)."""
    return optax.inject_hyperparams(optax.adamw)(
        learning_rate=params.lr, b1=0.9, b2=0.98, eps=1e-8, weight_decay=params.weight_decay
    )


def epoch_orders(params: GrokkingParams, key):
    """The minibatch order of every epoch the run touches, (ceil(steps / E), n_train) int32, E =
    n_train // batch_size: a fresh permutation of the train rows per epoch. None for full batch.

    Decision (speed): drawn once before training, not at every step. A per-step permutation (a sort
    of n_train keys) cost 95 % of a batch-8 step on CPU (1.1 ms against 0.045 ms per step, p 47,
    N 192); the table is at most about steps * batch_size ints (2 MB at paper scale)."""
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
    checkpoint is the weights dict (Ut, Vt (p, N), Wt (N, p); with BatchNorm also gamma, beta and the
    running statistics bn_mean, bn_var, all (N,)).

    regularizer 'none': ``loss(weights, m, n, labels)`` is differentiated by ``jax.grad`` at each step;
    default ``train_loss`` (the same loss as ``mse(forward(...))`` with the fast hand-written gradient;
    the plain one is for tests and benchmarks); other models, activations or losses (fields model,
    activation, loss): ``grokking_models.train_loss`` by plain ``jax.grad``. 'dropout' / 'batchnorm':
    ``regularized_loss`` by ``jax.grad`` (``loss`` must be None). Per-step randomness (dropout masks, minibatch order) derives
    from the config key and the step counter."""
    data = make_data(params, key)
    weights = init_weights(params, key) if models.is_default(params) else models.init_weights(params, key)
    bn_stats = None
    if params.regularizer == "batchnorm":
        bn_params, bn_stats = init_bn(params)
        weights = {**weights, **bn_params}
    if params.regularizer == "none" and loss is None:
        loss = train_loss if models.is_default(params) else (lambda w, m, n, y: models.train_loss(w, m, n, y, params))
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
            grads, stats = jax.grad(regularized_loss, has_aux=True)(w, m, n, y, params, jax.random.fold_in(dropout_key, t), stats)
        updates, state = opt.update(grads, state, w)
        return (optax.apply_updates(w, updates), state, stats, t + 1), None

    def block(carry, _):
        carry, _ = jax.lax.scan(step, carry, None, length=params.log_every)
        return carry, evaluate(checkpoint_of(carry[0], carry[2]), data, params)

    first = evaluate(checkpoint_of(weights, bn_stats), data, params)
    init = (weights, opt.init(weights), bn_stats, jnp.zeros((), jnp.int32))
    (weights, _, bn_stats, _), curves = jax.lax.scan(block, init, None, length=params.steps // params.log_every)
    curves = {k: jnp.concatenate([first[k][None], curves[k]]) for k in CURVES}
    return checkpoint_of(weights, bn_stats), curves


# ---- Pruning on the trained checkpoint (paper Sec. 4, Figs. 6 and 17) ------------------------------
#
# Decision (issue 4): the engine stores metrics, not weights, so the pruning curves are computed
# inside ``run`` on the final weights (traced and vmappable like the rest), not from saved
# checkpoints. Off by default (the default run, and the benchmarks built on it, are unchanged); the
# scales switch it on where the figures and claims need it. They cost little: pruning neuron j removes the rank-1 term a[:, j] W^T[j] from the
# logits, so the whole curve over k = 0..N-1 pruned neurons is one scan of rank-1 updates (about
# 3 p^3 N FLOP per order), no retraining and no recomputation of the hidden layer. The curve is stored
# on the existing ``neuron`` axis, read as "number of neurons pruned" (fraction k / N; the trivial
# point k = N, all pruned, is left out).

PRUNE_ORDERS = ("low", "high", "random")  # lowest IPR first, highest IPR first, random order
PRUNE_RANDOM_ORDERS = 5  # random orders per checkpoint (the paper lacks this control)
PRUNE_METRICS = ("train_acc", "test_acc", "corrupt_acc", "clean_acc", "train_loss", "test_loss")


def prune_metric_names() -> tuple[str, ...]:
    """prune_{low,high,random}_{metric}: random is the mean over PRUNE_RANDOM_ORDERS orders, and
    prune_random_std_{metric} their standard deviation (ddof 0)."""
    return tuple(f"prune_{o}_{m}" for o in (*PRUNE_ORDERS, "random_std") for m in PRUNE_METRICS)


def pruning_curve(feats, Wt, data, order):
    """Metrics after cumulatively pruning neurons in ``order``: dict of (N,) arrays, entry k after
    removing order[:k]. feats (p^2, N) eval-mode features, Wt (N, p), order (N,) int."""
    logits = feats @ Wt

    def step(logits, j):
        out = metrics_from_logits(logits, data)
        return logits - feats[:, j, None] * Wt[j][None, :], {k: out[k] for k in PRUNE_METRICS}

    _, curves = jax.lax.scan(step, logits, order)
    return curves


def pruning_curves(checkpoint, data, ipr, key):
    """Pruning curves of a trained net for IPR-low-first, IPR-high-first and PRUNE_RANDOM_ORDERS random
    orders (mean and std over them). Neurons with undefined IPR (all-zero rows) are pruned last in both
    IPR orders; they contribute nothing. Returns dict name -> (N,) as prune_metric_names()."""
    feats = features(checkpoint, data["m"], data["n"])
    N = feats.shape[1]
    rank = jnp.where(jnp.isnan(ipr), jnp.inf, ipr)
    low = jnp.argsort(rank)
    high = jnp.argsort(jnp.where(jnp.isnan(ipr), jnp.inf, -ipr))
    rand = jax.vmap(lambda r: jax.random.permutation(jax.random.fold_in(jax.random.fold_in(key, 5), r), N))(jnp.arange(PRUNE_RANDOM_ORDERS))
    orders = jnp.concatenate([low[None], high[None], rand])
    curves = jax.lax.map(lambda o: pruning_curve(feats, checkpoint["Wt"], data, o), orders)
    out = {}
    for m in PRUNE_METRICS:
        out[f"prune_low_{m}"] = curves[m][0]
        out[f"prune_high_{m}"] = curves[m][1]
        out[f"prune_random_{m}"] = jnp.mean(curves[m][2:], 0)
        out[f"prune_random_std_{m}"] = jnp.std(curves[m][2:], 0)
    return out


def run(params: GrokkingParams, key) -> dict[str, jax.Array]:
    """The study's pure run: curves over logged steps (CURVES, (steps/log_every + 1,)); per-neuron IPR
    at the end (N,; for mlp3 and the transformer the input layer's, grokking_models.input_ipr); BatchNorm |gamma| (N,) (NaN without BatchNorm); pruning curves (N,) per
    prune_metric_names() (NaN when ``prune_curves`` is off)."""
    checkpoint, curves = train(params, key)
    ipr = neuron_ipr(checkpoint) if models.is_default(params) else models.input_ipr(checkpoint, params)
    N = params.N
    gamma = jnp.abs(checkpoint["gamma"]) if params.regularizer == "batchnorm" else jnp.full(N, jnp.nan)
    if params.prune_curves:
        prune = pruning_curves(checkpoint, make_data(params, key), ipr, key)
    else:
        prune = {k: jnp.full(N, jnp.nan) for k in prune_metric_names()}
    return {**curves, "ipr": ipr, "bn_gamma": gamma, **prune}


# --------------------------------------------------------------------------------------------------
# Dataset side: coordinates, derived variables, cost
# --------------------------------------------------------------------------------------------------


def coords(params: GrokkingParams) -> dict[str, np.ndarray]:
    return {"step": np.arange(0, params.steps + 1, params.log_every), "neuron": np.arange(params.N)}


def phase_at(ds: xr.Dataset, step: int | None = None) -> xr.DataArray:
    """Phase label (theory.Phase ints) from the curves up to ``step`` (default: the last logged)."""
    upto = ds.sel(step=slice(None, step)) if step is not None else ds
    last = upto.isel(step=-1)
    labels = theory.classify_phase(
        last["train_acc"], last["test_acc"], upto["test_acc"].max("step"), xr.DataArray(param_value(ds, "xi")).broadcast_like(last["train_acc"]), param_value(ds, "p")
    )
    return xr.DataArray(labels, dims=last["train_acc"].dims, coords=last["train_acc"].coords)


TRAIN_FIT, TEST_GROKKED, UNLEARNED = 0.95, 0.90, 0.10  # dynamics thresholds (issue 4)


def first_step_at_or_above(curve: xr.DataArray, threshold: float) -> xr.DataArray:
    """First logged step where ``curve`` >= threshold, per config; NaN if never (NaN entries, e.g. the
    holes of a merge over different step grids, never count)."""
    hit = (curve >= threshold).fillna(False)
    steps = xr.DataArray(curve["step"].values.astype(float), dims="step")
    return steps.where(hit).min("step")


def unlearning_step(corrupt: xr.DataArray, threshold: float = UNLEARNED) -> xr.DataArray:
    """First logged step after the peak of the corrupted-subset accuracy where it is < threshold.

    Decision (the spec is silent on degenerate runs): the peak is the first maximum over the logged
    steps; NaN if the peak itself is below the threshold (nothing memorized, nothing to unlearn), if
    the accuracy never falls below it afterwards, or if there is no corrupted subset (xi = 0)."""
    values = corrupt.fillna(-1.0)
    peak_at = values.argmax("step")
    after = xr.DataArray(np.arange(corrupt.sizes["step"]), dims="step") > peak_at
    peak = corrupt.isel(step=peak_at)
    below = after & (corrupt < threshold).fillna(False)
    steps = xr.DataArray(corrupt["step"].values.astype(float), dims="step")
    return steps.where(below).min("step").where(peak >= threshold)


def prunable_neurons(curve: xr.DataArray, threshold: float = TEST_GROKKED) -> xr.DataArray:
    """How many neurons can be pruned (in the curve's order) with test accuracy still >= threshold
    (paper App. Q): the largest k with curve[k] >= threshold, over the ``neuron`` axis read as k, so
    N - k neurons must remain. Decision (the paper gives only Figure 32): the largest such k, not the
    end of the leading run, because low-IPR-first curves of Coexistence nets dip near 90 % and recover
    once the memorizing neurons are gone. NaN entries (a narrower net inside a merge over widths, or
    curves switched off) never count; NaN if no k qualifies."""
    ok = (curve >= threshold).fillna(False)
    k = xr.DataArray(np.arange(curve.sizes["neuron"], dtype=float), dims="neuron")
    return k.where(ok).max("neuron")


def summarize(ds: xr.Dataset) -> xr.Dataset:
    """Add final accuracies, the test peak, the phase label (fact sheet 3) and the dynamics per config:
    t_train95 (train accuracy first >= 95 %), t_test90 (test first >= 90 %), t_unlearn (corrupted-subset
    accuracy first < 10 % after its peak), in optimizer steps, NaN if never."""
    last = ds.isel(step=-1)
    for name in ("train_acc", "test_acc", "corrupt_acc", "corrupt_true_acc"):
        ds[f"final_{name}"] = last[name]
    ds["test_peak"] = ds["test_acc"].max("step")
    p = param_value(ds, "p")
    ds["phase"] = xr.DataArray(
        theory.classify_phase(ds["final_train_acc"], ds["final_test_acc"], ds["test_peak"], xr.DataArray(param_value(ds, "xi")).broadcast_like(ds["final_train_acc"]), p),
        dims=ds["final_train_acc"].dims,
    )
    if "diverged" in ds:  # a diverged run has no phase: -1, never counted by a claim
        ds["phase"] = ds["phase"].where(~ds["diverged"], -1).astype(np.int8)
    ds["phase"].attrs["labels"] = "-1=invalid (diverged), " + ", ".join(f"{int(ph)}={ph.label}" for ph in theory.Phase)
    ds["full_inversion_train_acc"] = theory.full_inversion_train_accuracy(xr.DataArray(param_value(ds, "xi")), p)
    ds["t_train95"] = first_step_at_or_above(ds["train_acc"], TRAIN_FIT)
    ds["t_test90"] = first_step_at_or_above(ds["test_acc"], TEST_GROKKED)
    ds["t_unlearn"] = unlearning_step(ds["corrupt_acc"])
    if "prune_low_test_acc" in ds:
        for order in ("low", "random"):
            ds[f"n_prunable_{order}"] = prunable_neurons(ds[f"prune_{order}_test_acc"])
            ds[f"n_prunable_{order}"].attrs["description"] = f"neurons prunable ({order} order) with test accuracy >= 90% (App. Q); NaN if none"
    for name, text in (("t_train95", "train accuracy first >= 95%"), ("t_test90", "test accuracy first >= 90%"), ("t_unlearn", "corrupted-subset accuracy first < 10% after its peak")):
        ds[name].attrs["description"] = f"optimizer step at which {text}; NaN if never"
    return ds


def bytes_per_config(params: GrokkingParams) -> int:
    """Rough peak device memory of one config: activations and grads on the train rows plus the eval
    forward on all p^2 rows (h, h^2, logits), weights with Adam moments, times 2 for temporaries."""
    rows = params.p**2
    per_row = 4 * models.floats_per_row(params)  # 3 N + 3 p for the default model
    weights = 4 * 3 * params.p * params.N * 4 if params.model == "mlp2" else 4 * 4 * (2 * params.p * params.N + (1 + 2 * models.MLP_RATIO) * params.N**2)
    return 2 * (rows * per_row + weights)


def flops_per_step(params: GrokkingParams) -> float:
    """Training FLOPs per step on M rows (n_train, or the minibatch): about 6 M N p (fact sheet 6.2),
    3 M times the forward matmuls of grokking_models.forward_flops_per_row for every model."""
    return 3.0 * params.rows_per_step * models.forward_flops_per_row(params)


def flops_per_config(params: GrokkingParams) -> float:
    """Training, evaluation every log_every steps (2 p^3 N each) and, if on, the pruning curves: one
    forward plus N rank-1 updates of the p^2 x p logits per order (2 + PRUNE_RANDOM_ORDERS orders)."""
    evals = params.steps // params.log_every + 1
    prune = (2 + PRUNE_RANDOM_ORDERS) * 4.0 * params.p**3 * params.N if params.prune_curves else 0.0
    return params.steps * flops_per_step(params) + evals * params.p**2 * models.forward_flops_per_row(params) + prune


# --------------------------------------------------------------------------------------------------
# Scales (fact sheet 6.3)
# --------------------------------------------------------------------------------------------------


def smoke_scale() -> Scale:
    """Seconds on a laptop: exercises every code path (tests)."""
    base = GrokkingParams(p=23, N=64, steps=200, log_every=20, prune_curves=1)
    return Scale("smoke", base, {"alpha": (0.5, 0.8), "xi": (0.0, 0.2), "weight_decay": (0.0, 5.0)}, "p 23, N 64, 200 steps, 8 configs")


def minibatch_base(base: GrokkingParams, batch_size: int, full_steps: int, **changes) -> GrokkingParams:
    """The paper's minibatch rule (fact sheet 1.4): batch 256 runs ``full_steps`` steps; other batch
    sizes keep the number of epochs (steps = full_steps * 256 / bs) and use lr = 0.01 sqrt(bs / 256);
    metrics are logged every 10 * 256 / bs steps (the same epochs at every batch size)."""
    steps = full_steps * 256 // batch_size
    return replace(base, batch_size=batch_size, steps=steps, log_every=max(1, 10 * 256 // batch_size), lr=0.01 * math.sqrt(batch_size / 256), **changes)


def quick_scale() -> Scale:
    """Minutes on 2 CPU cores; every phase appears (fact sheet 6.3: p 47, N 192, 1000 steps).

    Panels (each its own sweep, RESULTS/PANEL): ``wd`` the phase diagram per weight decay (the grid of
    this scale, unchanged, no pruning curves so its time stays that of the original sweep); ``seeds``
    the Figure 1 cells (alpha 0.9, xi 0.35, wd 0 / 5 / 10) over 5 seeds with pruning curves, for the
    pruning figure and claim and for error bars; ``dropout`` the phase diagram at dropout 0.3 and 0.6, wd 0,
    xi >= 0.2 (dropout 0 is the ``wd`` panel's wd 0; xi 0.1 left out to keep the scale's verification
    within 5 minutes); ``batchnorm`` BatchNorm after the square, batch 64,
    lr 0.005, 2000 steps (about the paper's 84 epochs of Figure 5); ``minibatch_8/256`` without
    BatchNorm, the paper's step and lr scaling from batch 256 at 1000 steps (the paper's minibatch
    panels are 8, 256 and full batch, the last being the ``wd`` panel's wd 0); ``batchnorm_8/32/256`` the
    paper's Figure 3 BatchNorm panels, which follow the same minibatch rule (its phase_diagrams_bn.py:
    steps 2000 * 256 / bs, lr 0.01 sqrt(bs / 256), wd 0), on the same corner cells (measured, one seed:
    smaller batches invert more: batch 8 gives Full / Partial Inversion at alpha 0.9, batch 256
    Coexistence everywhere); ``width`` the Appendix Q
    width sweep, N 96 / 192 / 384 x 5 seeds at alpha 0.9, xi 0.2, wd 2.5: at p 47 no cell is Coexistence
    at all three widths (narrow nets invert, wide ones memorize: pilots at wd 0-2.5), and this one
    generalizes at all of them (Full / Partial Inversion, Coexistence), which is what App. Q measures;
    ``multiplication`` (m n) mod p on a slice of the wd grid (paper App. P: nearly the same diagrams;
    measured: the same phase in all 18 cells; the IPR, an additive-Fourier measure, does not apply
    there: mean 0.08, the Gaussian value, since that solution is periodic in the discrete logarithm).

    Architectures and losses (paper Fig. 7, Apps. M, N; sims/studies/grokking_models.py), p 47 like
    every panel, 1000 steps, two alphas x two xi x wd, one seed. Budget about 60-90 s for the four (each
    alpha is one compile, 5-10 s); measured with `rote sweep --panel` on 2 cores: transformer 27 s, mlp3
    14 s, cross_entropy 17 s, relu 10 s (68 s). Pilots (final train / test %, phase):
    ``transformer`` d 64 (4 heads, MLP 256), lr 3e-3 (the paper's 1e-3 runs 3000 steps), alpha {0.8,
    0.9}, xi {0.15, 0.3}, wd {0, 3}: wd 0 memorizes every cell (test 2-13 %); wd 3 inverts at xi 0.15
    (alpha 0.8: 86.7 / 93.0, alpha 0.9: 85.3 / 96.4, corrupted 11 / 2.7 %) and memorizes or confuses at
    xi 0.3; alpha 0.7 memorizes at wd 3 (test 30-58 %); wd 5 stops fitting (Confusion, test 24-84 %),
    also at lr 1e-3; d 32 cannot memorize at wd 0 (train 76-83 %), so d 64. ``mlp3`` width 96, lr 1e-3 (Fig. 7b),
    wd {0, 5, 20}: wd 0 memorizes or oscillates (train 84-93 %, test <= 2 %), wd 5 inverts (Full at xi
    0.2: 80.5 / 100; Partial at 0.9 / 0.35), wd 20 is Confusion; lr 3e-3 gave the same phases.
    ``cross_entropy`` (App. M) wd {0, 2.5, 5, 10}: Memorization at 0, Coexistence (xi 0.2) or
    Memorization at 2.5, Full Inversion in every cell at 5, Confusion / Forgetting at 10 and above (20-60
    pilots: train <= 15 %): inversion only in a narrow wd band. ``relu`` (App. N) wd {0, 10}:
    Memorization at wd 0 (Coexistence only at 0.9 / 0.2) where the quadratic net coexists, Partial or
    Full Inversion at 10 (wd 5 already inverts; wd 40 is Confusion): ReLU needs more regularization.
    """
    base = GrokkingParams(p=47, N=192, steps=1000, log_every=10)
    grid = {
        "alpha": (0.3, 0.5, 0.7, 0.9),
        "xi": (0.0, 0.1, 0.2, 0.35, 0.5),
        "weight_decay": (0.0, 2.5, 5.0, 7.5, 10.0, 15.0),
    }
    no_prune, prune = base, replace(base, prune_curves=1)
    small = {"alpha": (0.5, 0.7, 0.9), "xi": (0.1, 0.2, 0.35)}
    corner = {"alpha": (0.7, 0.9), "xi": (0.2, 0.35)}  # one CPU chunk: batch 8 is 32000 sequential steps
    panels = {
        "wd": (base, grid),
        "seeds": (prune, {"alpha": (0.9,), "xi": (0.35,), "weight_decay": (0.0, 5.0, 10.0), "seed": (0, 1, 2, 3, 4)}),
        "dropout": (replace(no_prune, regularizer="dropout"), {"alpha": grid["alpha"], "xi": (0.2, 0.35, 0.5), "dropout": (0.3, 0.6)}),
        "batchnorm": (replace(no_prune, regularizer="batchnorm", batch_size=64, lr=0.005, steps=2000, log_every=20), {**small, "seed": (0, 1, 2)}),
        **{f"minibatch_{bs}": (minibatch_base(no_prune, bs, 1000), corner) for bs in (8, 256)},
        **{f"batchnorm_{bs}": (minibatch_base(replace(no_prune, regularizer="batchnorm"), bs, 1000), corner) for bs in (8, 32, 256)},
        "width": (replace(prune, alpha=0.9, xi=0.2, weight_decay=2.5), {"N": (96, 192, 384), "seed": (0, 1, 2, 3, 4)}),
        "multiplication": (replace(base, operation="mul"), {"alpha": (0.5, 0.7, 0.9), "xi": (0.2, 0.35), "weight_decay": (0.0, 5.0, 10.0)}),
        # architectures and losses (paper Fig. 7, Apps. M, N); choices and pilot numbers in the docstring
        "transformer": (replace(base, model="transformer", N=64, lr=0.003, log_every=20), {"alpha": (0.8, 0.9), "xi": (0.15, 0.3), "weight_decay": (0.0, 3.0)}),
        "mlp3": (replace(base, model="mlp3", N=96, lr=0.001, log_every=20), {"alpha": (0.7, 0.9), "xi": (0.2, 0.35), "weight_decay": (0.0, 5.0, 20.0)}),
        "cross_entropy": (replace(base, loss="ce", log_every=20), {"alpha": (0.7, 0.9), "xi": (0.2, 0.35), "weight_decay": (0.0, 2.5, 5.0, 10.0)}),
        "relu": (replace(base, activation="relu", log_every=20), {"alpha": (0.7, 0.9), "xi": (0.2, 0.35), "weight_decay": (0.0, 10.0)}),
    }
    return Scale("quick", base, grid, "p 47, N 192, 1000 steps; panels wd (4 alpha x 5 xi x 6 wd = 120), seeds, dropout, batchnorm (Fig. 5 and batch 8/32/256), minibatch 8/256, width, multiplication, transformer, mlp3, cross_entropy, relu", panels=panels)


def paper_scale() -> Scale:
    """The paper's Figure 3 panels: p 97, N 500, 2000 steps, 17 alpha x 19 xi (GPU).

    wd {0, 5, 15, 20} (1292 configs); the Figure 1 cells over 5 seeds; dropout {0.3, 0.6, 0.9} at wd 0;
    BatchNorm at batch 64, lr 0.005, 8000 steps (Figure 5 settings), and the Figure 3 BatchNorm panels at
    batch 8 / 32 / 64 / 256 with the minibatch rule (the paper's phase_diagrams_bn.py: steps
    2000 * 256 / bs, lr 0.01 sqrt(bs / 256), wd 0; the fact sheet's UNVERIFIED settled from that script);
    minibatch 8 and 256 (full batch is the wd panel's wd 0);
    the Appendix Q width sweep (lr 0.005, wd 1.0, alpha 0.5, xi 0.35; N 500-5000 x 10 seeds, the paper
    has 40 seeds up to N 10000)."""
    base = GrokkingParams(p=97, N=500, steps=2000, log_every=10)
    grid = {
        "alpha": tuple(np.round(np.linspace(0.1, 0.9, 17), 4).tolist()),
        "xi": tuple(np.round(np.linspace(0.0, 0.9, 19), 4).tolist()),
        "weight_decay": (0.0, 5.0, 15.0, 20.0),
    }
    no_prune, prune = base, replace(base, prune_curves=1)
    diagram = {"alpha": grid["alpha"], "xi": grid["xi"]}
    coarse = {"alpha": grid["alpha"][::2], "xi": grid["xi"][::2][:9]}  # alpha 0.1-0.9, xi 0-0.8, steps of 0.1
    panels = {
        "wd": (base, grid),
        "seeds": (prune, {"alpha": (0.5,), "xi": (0.35,), "weight_decay": (0.0, 5.0, 15.0), "seed": (0, 1, 2, 3, 4)}),
        "dropout": (replace(no_prune, regularizer="dropout"), {**diagram, "dropout": (0.3, 0.6, 0.9)}),
        "batchnorm": (replace(no_prune, regularizer="batchnorm", batch_size=64, lr=0.005, steps=8000, log_every=40), diagram),
        **{f"minibatch_{bs}": (minibatch_base(no_prune, bs, 2000), diagram) for bs in (8, 256)},
        **{f"batchnorm_{bs}": (minibatch_base(replace(no_prune, regularizer="batchnorm"), bs, 2000), diagram) for bs in (8, 32, 64, 256)},
        "width": (replace(prune, alpha=0.5, xi=0.35, lr=0.005, weight_decay=1.0), {"N": (500, 1000, 2000, 5000), "seed": tuple(range(10))}),
        # Fig. 7 (MSE, AdamW lr 1e-3, 3 seeds; its alpha / xi grid is UNVERIFIED: a coarse 9 x 9 slice of
        # Fig. 3's). Transformer: the paper's wd 10 and 50 plus 1 and 3, because with plain AdamW (decay
        # lr * wd on every weight, the official code's default optimizer) our quick pilots stop fitting at
        # wd >= 5 (d 64, lr 1e-3 and 3e-3: Confusion), so the Fig. 7 values may assume the code's
        # per-layer (muP) learning rates, UNVERIFIED. Apps. M, N: CE wd values UNVERIFIED (the quick
        # pilots' band, about doubled as wd is between p 47 and p 97); ReLU on the Fig. 3 wd values.
        "transformer": (replace(base, model="transformer", N=128, lr=0.001, steps=3000, log_every=30), {**coarse, "weight_decay": (1.0, 3.0, 10.0, 50.0), "seed": (0, 1, 2)}),
        "mlp3": (replace(base, model="mlp3", lr=0.001, steps=5000, log_every=50), {**coarse, "weight_decay": (0.0, 5.0, 10.0, 20.0), "seed": (0, 1, 2)}),
        "cross_entropy": (replace(base, loss="ce"), {**coarse, "weight_decay": (0.0, 5.0, 10.0, 20.0)}),
        "relu": (replace(base, activation="relu"), {**coarse, "weight_decay": (0.0, 5.0, 15.0, 20.0)}),
    }
    return Scale("paper", base, grid, "p 97, N 500, 2000 steps, 17 alpha x 19 xi; panels wd (x 4 wd = 1292), seeds, dropout, batchnorm, minibatch", panels=panels)


def _claims(scale: str):
    from . import grokking_claims

    return grokking_claims.claims(scale)


def _figures(ds, out_dir):
    from ...figures import grokking as figs

    return figs.make_all(ds, out_dir)


STUDY = Study(
    name="grokking",
    params_type=GrokkingParams,
    run=run,
    scales={"smoke": smoke_scale, "quick": quick_scale, "paper": paper_scale},
    metric_dims={**{k: ("step",) for k in CURVES}, "ipr": ("neuron",), "bn_gamma": ("neuron",), **{k: ("neuron",) for k in prune_metric_names()}},
    coords=coords,
    divergence_metrics=("train_loss", "test_loss"),
    summarize=summarize,
    bytes_per_config=bytes_per_config,
    flops_per_config=flops_per_config,
    claims=_claims,
    make_figures=_figures,
)
