"""IPR-ranked pruning of a trained net, without retraining (arXiv 2310.13061, Figs. 6 and 17), with a
random-order control the paper lacks.

The engine stores metrics, not weights, so the curves are computed inside ``run`` on the final weights
(traced and vmappable like the rest), switched on by ``prune_curves``. Pruning neuron j removes the
rank-1 term a[:, j] W^T[j] from the logits, so the whole curve over k = 0..N-1 pruned neurons is one
scan of rank-1 updates (about 3 p^3 N FLOP per order), no recomputation of the hidden layer. The
curve is stored on the ``neuron`` axis, read as "number of neurons pruned" (fraction k / N; the
trivial point k = N, all pruned, is left out).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .metrics import metrics_from_logits
from .model import features

PRUNE_ORDERS = ("low", "high", "random")  # lowest IPR first, highest IPR first, random order
PRUNE_RANDOM_ORDERS = 5  # random orders per checkpoint
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
