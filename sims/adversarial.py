"""L-infinity attacks in JAX: FGSM (with and without a random start) and PGD-k with a random start.

Goodfellow, Shlens, Szegedy, arXiv 1412.6572 (FGSM); Madry et al., arXiv 1706.06083, Eq. 2 (PGD);
Wong, Rice, Kolter, arXiv 2001.03994, Sec. 4 (FGSM from a uniform random start, step 1.25 epsilon).
All inputs live on the [0, 1] pixel scale: ``epsilon`` and ``step`` are in the same units (a caller
that thinks in 8-bit units divides by 255 first). One function does both attacks: FGSM is one step of
size ``step`` (often a multiple of epsilon), PGD-k is ``steps`` steps; every step is a signed gradient
step followed by the projection onto the epsilon-ball around x and onto the [0, 1] box.

Shapes: x (B, ...) in [0, 1], y (B,) int labels; ``loss_fn(x) -> (B,)`` per-example losses of the
model being attacked (a closure over its weights). ``epsilon``, ``step`` and ``random_start`` may be
traced scalars (per config under the engine's ``vmap``); ``steps`` is a Python int (a loop length).
The closed-form worst case of a linear model they are checked against is ``rote.theory.over_memorization``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def project(x_adv, x, epsilon):
    """Clip ``x_adv`` to the L-inf ball of radius ``epsilon`` around ``x`` and to the [0, 1] box."""
    return jnp.clip(jnp.clip(x_adv, x - epsilon, x + epsilon), 0.0, 1.0)


def uniform_start(key, x, epsilon, random_start=True):
    """x + U(-epsilon, epsilon) noise (times ``random_start``, 0 or 1), projected; shape of x."""
    noise = jax.random.uniform(key, x.shape, x.dtype, -1.0, 1.0) * epsilon
    return project(x + noise * jnp.asarray(random_start, x.dtype), x, epsilon)


def sign_gradient_attack(loss_fn, x, key, epsilon, step, steps: int, random_start=True):
    """``steps`` ascent steps x <- proj(x + step * sign(grad sum(loss_fn(x)))) from x (or a uniform
    random start); returns the perturbed inputs, shape of x, with the gradient stopped."""
    grad = jax.grad(lambda z: jnp.sum(loss_fn(z)))
    x_adv = uniform_start(key, x, epsilon, random_start)

    def body(_, z):
        return project(z + step * jnp.sign(grad(z)), x, epsilon)

    x_adv = jax.lax.fori_loop(0, steps, body, x_adv)
    return jax.lax.stop_gradient(x_adv)


def fgsm(loss_fn, x, key, epsilon, step_ratio=1.0, random_start=False):
    """FGSM: one signed gradient step of size ``step_ratio * epsilon`` (1.0 without random start is
    Goodfellow et al.; 1.25 from a random start is Wong et al.'s RS-FGSM)."""
    return sign_gradient_attack(loss_fn, x, key, epsilon, step_ratio * epsilon, 1, random_start)


def pgd(loss_fn, x, key, epsilon, steps: int, step_ratio=0.25, random_start=True):
    """PGD-k (Madry et al.): ``steps`` signed steps of ``step_ratio * epsilon`` from a uniform random
    start in the epsilon-ball (the paper's PGD-10 uses 2/255 at epsilon 8/255: ratio 0.25)."""
    return sign_gradient_attack(loss_fn, x, key, epsilon, step_ratio * epsilon, steps, random_start)

