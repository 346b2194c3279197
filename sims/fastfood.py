"""The keyed Fastfood random projection R^d -> R^D of intrinsic-dimension training, in JAX.

Le, Sarlos, Smola (ICML 2013) "Fastfood"; used to train in a random low-dimensional subspace by Li et
al. (arXiv 1804.08838, Sec. 2) and Aghajanyan et al. (arXiv 2012.13255, Sec. 3), and as the secret key of
SELM (Stevens and Su, arXiv 2305.10445, Sec. 3: the ciphertext theta_d lives in the subspace, the
projection is drawn from the key). With LL = 2^ceil(log2 D) and x in R^d (d <= D):

    P(x) = (H G Pi H B pad_LL(x))[:D] / sqrt(D * sum(G^2))

H the unnormalised LL x LL Walsh-Hadamard matrix (Sylvester order, computed by log2(LL) butterflies,
O(LL log LL)), B a random +-1 diagonal, Pi a random permutation, G a Gaussian diagonal. Each column of
H G Pi H B has norm sqrt(LL sum G^2); truncating to D of LL rows leaves about sqrt(D sum G^2), so the
normalisation gives columns of norm about 1 and ordinary learning rates work on x.

The key's matrices are an explicit pytree ``FastfoodKey(b, perm, g)`` of arrays passed as *arguments*:
a jitted step that takes them compiles once for every key, and a stack of keys can be ``vmap``-ed.
Shapes: b (LL,) float in {-1, +1}, perm (LL,) int32, g (LL,) float. ``dense_matrix`` builds the explicit
(D, d) matrix for tests.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from rote.sims.errors import ConfigError


class FastfoodKey(NamedTuple):
    """The random matrices of one projection: b (LL,) +-1, perm (LL,) int32 permutation, g (LL,) Gaussian."""

    b: jax.Array
    perm: jax.Array
    g: jax.Array


def padded_size(n: int) -> int:
    """LL = 2^ceil(log2 n), the Walsh-Hadamard size of an n-vector (n >= 1)."""
    if n < 1:
        raise ConfigError(f"a Fastfood projection needs a positive size, got {n}")
    return 1 << (int(n) - 1).bit_length()


def walsh_hadamard(x):
    """Unnormalised fast Walsh-Hadamard transform along the last axis (length a power of two), by
    log2(n) butterflies: (..., n) -> (..., n), equal to ``x @ H_n`` with H_n of Sylvester's order
    (H_1 = [1], H_2n = [[H_n, H_n], [H_n, -H_n]]); H_n is symmetric and H_n H_n = n I."""
    n = x.shape[-1]
    if n & (n - 1):
        raise ConfigError(f"the Walsh-Hadamard length must be a power of two, got {n}")
    lead = x.shape[:-1]
    h = 1
    while h < n:
        y = x.reshape(*lead, n // (2 * h), 2, h)
        a, b = y[..., 0, :], y[..., 1, :]
        x = jnp.stack([a + b, a - b], axis=-2).reshape(*lead, n)
        h *= 2
    return x


def draw_key(key, D: int, dtype=jnp.float32) -> FastfoodKey:
    """The projection's matrices for an output of size D from a ``jax.random`` key (B, Pi, G drawn in
    that order from three split keys)."""
    LL = padded_size(D)
    kb, kp, kg = jax.random.split(key, 3)
    b = jnp.where(jax.random.bernoulli(kb, 0.5, (LL,)), 1.0, -1.0).astype(dtype)
    perm = jax.random.permutation(kp, LL).astype(jnp.int32)
    g = jax.random.normal(kg, (LL,), dtype)
    return FastfoodKey(b, perm, g)


def project(ff: FastfoodKey, x, D: int):
    """P(x): (d,) -> (D,), the normalised Fastfood projection of x (d <= D <= LL) under the key ``ff``."""
    LL = ff.b.shape[-1]
    d = x.shape[-1]
    if d > D or D > LL:
        raise ConfigError(f"Fastfood needs d <= D <= LL, got d {d}, D {D}, LL {LL}")
    v = jnp.zeros(LL, x.dtype).at[:d].set(x) * ff.b
    v = walsh_hadamard(v)[ff.perm] * ff.g
    v = walsh_hadamard(v)[:D]
    return v / jnp.sqrt(D * jnp.sum(ff.g**2))


def dense_matrix(ff: FastfoodKey, d: int, D: int):
    """The explicit (D, d) matrix of ``project(ff, ., D)`` on R^d (for tests; O(d LL log LL))."""
    return jax.vmap(lambda e: project(ff, e, D), out_axes=1)(jnp.eye(d, dtype=ff.b.dtype))
