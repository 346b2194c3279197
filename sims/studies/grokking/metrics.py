"""What the `grokking` study logs: accuracies and losses on all p^2 pairs, and the mean IPR.

The corrupted-subset accuracy against the true labels is the direct inversion signal: a fully
inverted net (arXiv 2310.13061, Fig. 1 and App. C) predicts the corrupted pairs with their true labels.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import model
from .params import is_default

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


def metrics_from_logits(logits, data, loss: str = "mse"):
    """Accuracies and losses of logits (p^2, p) on all pairs: dict of scalars train_acc, test_acc,
    corrupt_acc (vs noisy labels), corrupt_true_acc, clean_acc, train_loss, test_loss (the training
    loss ``loss``, MSE or cross-entropy, against the noisy labels). ``data`` as ``run.make_data``."""
    pred = jnp.argmax(logits, -1)
    if loss == "mse":
        sq_err = jnp.mean((logits - jax.nn.one_hot(data["noisy"], logits.shape[-1])) ** 2, axis=-1)
    else:
        sq_err = model.row_losses(logits, data["noisy"], loss)

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


def evaluate(checkpoint, data, params=None):
    """Metrics on all p^2 pairs (one eval-mode forward). Returns dict of scalars named as CURVES.
    ``params`` picks the model; None or the default model: the quadratic MLP (with BatchNorm if the
    checkpoint has it)."""
    if params is None or is_default(params):
        logits = model.features(checkpoint, data["m"], data["n"]) @ checkpoint["Wt"]
        return {**metrics_from_logits(logits, data), "mean_ipr": jnp.nanmean(model.neuron_ipr(checkpoint))}
    logits = model.logits(checkpoint, data["m"], data["n"], params)
    return {**metrics_from_logits(logits, data, params.loss), "mean_ipr": jnp.nanmean(model.input_ipr(checkpoint, params))}
