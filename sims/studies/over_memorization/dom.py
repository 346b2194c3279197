"""Distraction Over-Memorization inside one jitted step, and the digits augmentation it uses.

Lin, Yu, Han, Liu (ICLR 2024, arXiv 2310.08847), Sec. 5, Algorithm 1: every step computes the natural
loss l_i = CE(f(x_i), y_i) of the clean inputs; from the warm-up epoch K on,
  * DOM_RE trains on (1/B) sum_i 1[l_i >= T] loss_i: the mask keeps samples at or above the threshold
    and the mean runs over the full batch, removed samples included (as the released DOM.py does);
  * DOM_DA augments the samples with l_i < T, up to gamma rounds: draw x' = DA(x); where CE(x') >= T
    take x' and stop, else x <- (1 - beta) x + beta x' and try again; the last round takes x' for every
    sample still unresolved (the released code's rule); each round augments the current, mixed x.
The loop has a fixed length gamma; ``jnp.where`` masks track the accepted and unresolved samples, and
the chosen inputs are constants of the step (``stop_gradient``). The study adds two controls: the
augment-all control (one DA draw for every sample from K on: the same augmentation without the
selection) and the persistence run (Sec. 3's removal of the high-confidence groups, see ``run``).

The augmentation stands in for AugMix / RandAugment, which mean little at 8 x 8: a random roll of up
to ``shift`` pixels in each direction, Gaussian noise of sd ``aug_noise``, ``dropout`` of the pixels
set to 0, clipped to [0, 1].
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .params import AUGMENT_ALL, DOM_DA, DOM_RE, OverMemParams


def augment(key, x, p: OverMemParams):
    """x (B, 64) in [0, 1] -> (B, 64): per-sample roll in [-shift, shift]^2, noise, pixel dropout, clip."""
    k_shift, k_noise, k_drop = jax.random.split(key, 3)
    shifts = jax.random.randint(k_shift, (x.shape[0], 2), -p.shift, p.shift + 1)
    images = x.reshape((-1, 8, 8))
    rolled = jax.vmap(lambda img, s: jnp.roll(jnp.roll(img, s[0], axis=0), s[1], axis=1))(images, shifts).reshape(x.shape)
    noisy = rolled + p.aug_noise * jax.random.normal(k_noise, x.shape, x.dtype)
    keep = jax.random.bernoulli(k_drop, 1.0 - p.dropout, x.shape)
    return jnp.clip(jnp.where(keep, noisy, 0.0), 0.0, 1.0)


def dom_inputs(loss_fn, x, key, active, p: OverMemParams):
    """The inputs and per-sample loss weights of one training step.

    loss_fn(x (B, 64)) -> (B,) natural losses against the batch's labels; ``active``: the epoch is at or
    after K (a traced bool). Returns (x_train (B, 64), weight (B,), natural loss (B,)), all without
    gradient. With ``variant`` baseline or persistence they are (x, 1, l)."""
    nat = jax.lax.stop_gradient(loss_fn(x))
    low = nat < p.threshold
    weight = jnp.where(active & (p.variant == DOM_RE), (nat >= p.threshold).astype(x.dtype), 1.0)
    unresolved = low & active & (p.variant == DOM_DA)
    keys = jax.random.split(key, p.gamma)
    x_cur, x_out, first = x, x, None
    for r in range(p.gamma):
        x_aug = augment(keys[r], x_cur, p)
        first = x_aug if first is None else first
        hard = jax.lax.stop_gradient(loss_fn(x_aug)) >= p.threshold
        accept = unresolved & (hard | (r == p.gamma - 1))
        x_out = jnp.where(accept[:, None], x_aug, x_out)
        x_cur = jnp.where((unresolved & ~accept)[:, None], (1.0 - p.beta) * x_cur + p.beta * x_aug, x_cur)
        unresolved = unresolved & ~accept
    x_out = jnp.where(active & (p.variant == AUGMENT_ALL), first, x_out)
    return jax.lax.stop_gradient(x_out), weight, nat
