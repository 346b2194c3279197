"""Batched greedy and sampled decoding of the tiny LM as one jitted fixed-length loop.

Greedy decoding from a true k-token prefix is the extraction test of Carlini et al. (arXiv
2202.07646, extractability with k tokens of context) and of the Pythia memorization score
(Biderman et al., arXiv 2304.11158); sampling with a temperature and top-k truncation (Fan et al., arXiv 1805.04833) is the
generation side of the extraction attack of Carlini et al. (arXiv 2012.07805).

Shapes: prompt (..., k) int -> (..., k + n_new) int32, the prompt followed by the new tokens, with
k + n_new <= the model's context. One ``lax.scan`` of n_new steps runs the whole model on the
fixed-size buffer at each step (no key-value cache): the causal mask makes the not-yet-written
positions invisible, so every step compiles to the same program and the loop jits and vmaps.
At toy sizes (context 24) the recomputation costs less than a cache's bookkeeping.

An optional soft prompt ``prefix`` (P, width) or (..., P, width) is passed to the model unchanged;
with a prefix the prompt may be empty (k = 0: the first token is predicted from the prefix alone).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from rote.sims.errors import ConfigError


def _decode(model, params, prompt, n_new: int, choose, prefix=None):
    """Append ``n_new`` tokens to ``prompt`` (..., k); ``choose(logits (..., vocab), i)`` picks token i."""
    k = prompt.shape[-1]
    if k == 0 and prefix is None:
        raise ConfigError("decoding needs a prompt of at least one token or a prefix")
    if k + n_new > model.context:
        raise ConfigError(f"prompt length {k} + {n_new} new tokens exceeds the model's context {model.context}")
    P = 0 if prefix is None else prefix.shape[-2]
    buf = jnp.concatenate([prompt.astype(jnp.int32), jnp.zeros((*prompt.shape[:-1], n_new), jnp.int32)], axis=-1)

    def step(buf, i):
        logits = model.apply(params, buf, prefix)  # (..., P + k + n_new, vocab)
        row = jax.lax.dynamic_index_in_dim(logits, P + i - 1, axis=-2, keepdims=False)
        return buf.at[..., i].set(choose(row, i).astype(jnp.int32)), None

    buf, _ = jax.lax.scan(step, buf, jnp.arange(k, k + n_new))
    return buf


@partial(jax.jit, static_argnames=("model", "n_new"))
def greedy(model, params, prompt, n_new: int, prefix=None):
    """Greedy continuation: (..., k) -> (..., k + n_new), each new token the argmax (lowest id on ties)."""
    return _decode(model, params, prompt, n_new, lambda row, i: jnp.argmax(row, axis=-1), prefix)


def top_k_logits(logits, top_k):
    """Keep the ``top_k`` largest logits of (..., vocab), set the rest to -inf; top_k = 0 keeps all.
    ``top_k`` may be traced; ties with the k-th largest value are all kept."""
    V = logits.shape[-1]
    at = jnp.full((*logits.shape[:-1], 1), V - jnp.clip(top_k, 1, V))
    kth = jnp.take_along_axis(jnp.sort(logits, axis=-1), at, axis=-1)
    threshold = jnp.where(top_k > 0, kth, -jnp.inf)
    return jnp.where(logits >= threshold, logits, -jnp.inf)


@partial(jax.jit, static_argnames=("model", "n_new"))
def sample(model, params, prompt, n_new: int, key, temperature=1.0, top_k=0, prefix=None):
    """Sampled continuation: (..., k) -> (..., k + n_new) from softmax(logits / temperature) restricted
    to the ``top_k`` most likely tokens (0: no restriction). Token i uses ``fold_in(key, i)``, so a
    fixed key gives a fixed output. ``temperature`` and ``top_k`` may be traced (a sweep axis);
    temperature 0 is greedy decoding."""
    temperature = jnp.asarray(temperature, jnp.float32)

    def choose(row, i):
        scaled = top_k_logits(row / jnp.where(temperature > 0, temperature, 1.0), top_k)
        drawn = jax.random.categorical(jax.random.fold_in(key, i), scaled, axis=-1)
        return jnp.where(temperature > 0, drawn, jnp.argmax(row, axis=-1))

    return _decode(model, params, prompt, n_new, choose, prefix)


@partial(jax.jit, static_argnames="model")
def greedy_forced(model, params, targets, k, prefix=None):
    """Greedy decoding with a per-row true prompt: targets (..., L) int, k (...,) int >= 1 (>= 0 with a
    prefix) -> (..., L) int32 whose first k tokens are the target's and the rest the greedy
    continuation. Rows with different prompt lengths share one loop (the extraction test of Carlini
    et al., arXiv 2202.07646, at several k in one batch); with equal k it equals ``greedy``."""
    targets = jnp.asarray(targets, jnp.int32)
    L = targets.shape[-1]
    if L > model.context:
        raise ConfigError(f"target length {L} exceeds the model's context {model.context}")
    P = 0 if prefix is None else prefix.shape[-2]
    k = jnp.asarray(k)[..., None]
    buf = jnp.where(jnp.arange(L) < k, targets, 0)

    def step(buf, i):
        logits = model.apply(params, buf, prefix)
        row = jax.lax.dynamic_index_in_dim(logits, P + i - 1, axis=-2, keepdims=False)
        new = jnp.where(i < k[..., 0], targets[..., i], jnp.argmax(row, axis=-1))
        return buf.at[..., i].set(new.astype(jnp.int32)), None

    first = 1 if prefix is None else 0
    buf, _ = jax.lax.scan(step, buf, jnp.arange(first, L))
    return buf
