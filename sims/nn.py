"""Shared neural-network blocks (flax linen): attention, MLP, embeddings and positions.

Every model of the package that attends builds on these: the attention-capacity study, the grokking
transformer, the benchmarks and the tiny decoder-only language model of the language-model studies.
Functions state their shapes and leave ``vmap`` to the caller (the engine maps over configs).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from ..theory import positions


def sinusoidal_positions(length: int, width: int) -> jnp.ndarray:
    """(length, width) float32 fixed encoding (``rote.theory.positions.sinusoidal``, Vaswani et al.
    arXiv 1706.03762, Sec. 3.5)."""
    return jnp.asarray(positions.sinusoidal(length, width), jnp.float32)


def torch_linear_init(fan_in: int):
    """PyTorch nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias."""
    bound = 1.0 / math.sqrt(fan_in)
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound)


def xavier_uniform(fan_in, fan_out):
    """Xavier-uniform with a (possibly traced) fan: U(-b, b), b = sqrt(6 / (fan_in + fan_out))."""
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -1.0, 1.0) * jnp.sqrt(6.0 / (fan_in + fan_out))


def masked_softmax(scores, n_active=None, mask=None):
    """Softmax over the last axis of ``scores`` (..., n).

    n_active: only the first ``n_active`` (may be traced) entries take part; the rest get weight 0.
    mask: boolean, broadcastable to ``scores``; False entries get weight 0 (e.g. a causal mask).
    """
    keep = None
    if n_active is not None:
        keep = jnp.arange(scores.shape[-1]) < n_active
    if mask is not None:
        keep = mask if keep is None else keep & mask
    if keep is not None:
        scores = jnp.where(keep, scores, -jnp.inf)
    return jax.nn.softmax(scores, axis=-1)


def causal_mask(length: int) -> jnp.ndarray:
    """(length, length) boolean: position i may attend to positions j <= i."""
    return jnp.tril(jnp.ones((length, length), bool))


def attend(q, k, v, scale: float, n_active=None, mask=None):
    """Scaled dot-product attention, one call for every head.

    q (..., H, Tq, dk), k (..., H, Tk, dk), v (..., H, Tk, dv); leading dims broadcast (a context
    shared by the whole batch has leading size 1). Returns (out (..., H, Tq, dv), weights
    (..., H, Tq, Tk)), weights = softmax(scale q k^T) with ``masked_softmax``'s n_active / mask.
    """
    scores = jnp.matmul(q, jnp.swapaxes(k, -1, -2)) * scale
    weights = masked_softmax(scores, n_active, mask)
    return jnp.matmul(weights, v), weights


def split_heads(x, heads: int):
    """(..., T, heads * dh) -> (..., heads, T, dh)."""
    *lead, T, width = x.shape
    return jnp.swapaxes(x.reshape(*lead, T, heads, width // heads), -2, -3)


def merge_heads(x):
    """(..., heads, T, dh) -> (..., T, heads * dh)."""
    x = jnp.swapaxes(x, -2, -3)
    return x.reshape(*x.shape[:-2], x.shape[-2] * x.shape[-1])


class MultiHeadAttention(nn.Module):
    """Multi-head self-attention with output projection (Vaswani et al., arXiv 1706.03762, Sec. 3.2).

    __call__(x (..., T, width), mask=None) -> (..., T, width); ``mask`` (T, T) boolean (``causal_mask``).
    Scores are scaled by 1 / sqrt(d_head) unless ``scale`` is given.
    """

    heads: int
    scale: float | None = None
    use_bias: bool = True

    @nn.compact
    def __call__(self, x, mask=None):
        width = x.shape[-1]
        dh = width // self.heads
        q, k, v = (split_heads(nn.Dense(width, use_bias=self.use_bias, name=name)(x), self.heads) for name in ("query", "key", "value"))
        out, _ = attend(q, k, v, self.scale if self.scale is not None else dh**-0.5, mask=mask)
        return nn.Dense(width, use_bias=self.use_bias, name="out")(merge_heads(out))


class MLP(nn.Module):
    """Two-layer perceptron x -> act(x W1 + b1) W2 + b2, hidden width ``hidden``; (..., width) -> (..., out or width)."""

    hidden: int
    out: int | None = None
    activation: str = "gelu"

    @nn.compact
    def __call__(self, x):
        act = {"gelu": nn.gelu, "relu": nn.relu}[self.activation]
        h = act(nn.Dense(self.hidden, name="fc1")(x))
        return nn.Dense(self.out or x.shape[-1], name="fc2")(h)


class TokenAndPosition(nn.Module):
    """Learned token and position embeddings: tokens (..., T) int -> (..., T, width)."""

    vocab: int
    context: int
    width: int

    @nn.compact
    def __call__(self, tokens):
        init = nn.initializers.normal(0.02)
        tok = nn.Embed(self.vocab, self.width, embedding_init=init, name="token")(tokens)
        pos = self.param("position", init, (self.context, self.width))
        return tok + pos[: tokens.shape[-1]]
