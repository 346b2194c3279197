"""A tiny decoder-only transformer language model, and its per-token and per-example losses.

The model of the language-model studies (canaries and exposure, membership, entity memorization,
encryption with a language model, summarization): GPT-style (Radford et al. 2019; nanoGPT) with
pre-LN residual blocks (Xiong et al., arXiv 2002.04745), learned token and position embeddings, a
causal mask and an untied output layer, built from the shared blocks of ``rote.sims.nn``. The
toy-scale setting of the memorization survey (Hartmann et al., arXiv 2310.18362) is 2 layers x width
64 x 4 heads, MLP width 4 x 64, vocabulary 48, context 24 (about 105k parameters).

Shapes: tokens (..., T) int with T <= context; an optional prefix (P, width) or (..., P, width) of
real vectors (a soft prompt, Lester et al., arXiv 2104.08691) is placed before the token
embeddings. Everything is a pure function of (model, params, arrays), jitted with the model static:
``vmap`` it over configurations or over a stack of models
(``vmap(lambda p: token_log_probs(model, p, tokens))(stacked)`` scores M models on one batch), and
take gradients with respect to the params, the prefix or both. A frozen model with a trained soft
prompt is ``grad`` with respect to the prefix argument only.

Conventions
  * Positions: tokens always get positions 0..T-1, with or without a prefix; the prefix gets none.
    A trainable prefix vector would absorb any position vector added to it, and keeping the tokens'
    positions fixed means a frozen model sees its tokens exactly where it saw them in training.
  * Alignment: per-token outputs are (..., T), entry t about token t given the prefix and tokens
    < t. Without a prefix token 0 has no context and is not scored (log-prob 0.0, ``scored_mask``
    False); with a prefix, token 0 is predicted from the prefix's last position.
  * Losses are in nats (natural log); theory/exposure.py converts to bits for log-perplexity.
  * A weight-space offset (e.g. params + a projected vector) is ``jax.flatten_util.ravel_pytree``
    on ``params`` and ``apply`` on the unravelled sum; nothing here needs to know.
"""

from __future__ import annotations

from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp

from rote.sims.errors import ConfigError
from rote.sims.nn import MLP, MultiHeadAttention, TokenAndPosition, causal_mask


class Block(nn.Module):
    """Pre-LN transformer block: x + attn(LN(x)), then x + MLP(LN(x)); (..., L, width) -> same."""

    heads: int
    hidden: int

    @nn.compact
    def __call__(self, x, mask):
        x = x + MultiHeadAttention(self.heads, name="attn")(nn.LayerNorm(name="ln1")(x), mask)
        return x + MLP(self.hidden, name="mlp")(nn.LayerNorm(name="ln2")(x))


class TinyLM(nn.Module):
    """Decoder-only LM. ``__call__(tokens (..., T), prefix=None) -> logits (..., P + T, vocab)``.

    Logit row j predicts the element after position j of [prefix, tokens]: row P - 1 + t predicts
    token t (use ``next_token_log_probs`` for the aligned (..., T, vocab) view). Every size is a
    static field, so a study can make them static params and vmap over everything else.
    """

    vocab: int
    context: int
    width: int = 64
    layers: int = 2
    heads: int = 4
    mlp_ratio: int = 4

    @nn.compact
    def __call__(self, tokens, prefix=None):
        T = tokens.shape[-1]
        check_heads(self.width, self.heads)
        if T > self.context:
            raise ConfigError(f"sequence length {T} exceeds the model's context {self.context}")
        x = TokenAndPosition(self.vocab, self.context, self.width, name="embed")(tokens)  # (..., T, width)
        if prefix is not None:
            prefix = jnp.broadcast_to(prefix, (*x.shape[:-2], *prefix.shape[-2:])).astype(x.dtype)
            x = jnp.concatenate([prefix, x], axis=-2)  # (..., P + T, width)
        mask = causal_mask(x.shape[-2])
        for i in range(self.layers):
            x = Block(self.heads, self.mlp_ratio * self.width, name=f"block{i}")(x, mask)
        x = nn.LayerNorm(name="ln_f")(x)
        return nn.Dense(self.vocab, name="head")(x)  # untied from the token embedding


def check_heads(width: int, heads: int) -> None:
    """A one-line ConfigError unless the model width splits evenly over the attention heads."""
    if width % heads:
        raise ConfigError(f"width {width} must be a multiple of heads {heads}")


@partial(jax.jit, static_argnames="model")
def init_params(model: TinyLM, key):
    """The model's variables ({'params': ...}) from ``key``; the same for any batch shape or prefix."""
    return model.init(key, jnp.zeros((1, model.context), jnp.int32))


def init_prefix(key, length: int, width: int, scale: float = 0.02):
    """A soft prompt: (length, width) vectors drawn from N(0, scale^2), the embeddings' init scale."""
    return scale * jax.random.normal(key, (length, width))


def param_count(params) -> int:
    """Number of scalars in a parameter pytree."""
    return sum(x.size for x in jax.tree_util.tree_leaves(params))


def scored_mask(length: int, prefix=None):
    """(length,) bool: which tokens have a prediction (all with a prefix, all but token 0 without)."""
    return jnp.arange(length) >= (0 if prefix is not None else 1)


@partial(jax.jit, static_argnames="model")
def next_token_log_probs(model: TinyLM, params, tokens, prefix=None):
    """(..., T, vocab) log-softmax, row t the distribution of token t given the prefix and tokens < t.

    Without a prefix row 0 has no context; it is filled with the uniform log(1 / vocab) and is not
    scored (``scored_mask``).
    """
    logits = model.apply(params, tokens, prefix)
    T = tokens.shape[-1]
    if prefix is not None:
        rows = logits[..., prefix.shape[-2] - 1 : prefix.shape[-2] - 1 + T, :]
    else:
        rows = jnp.concatenate([jnp.zeros_like(logits[..., :1, :]), logits[..., : T - 1, :]], axis=-2)
    return jax.nn.log_softmax(rows, axis=-1)


def target_log_probs(log_probs, tokens):
    """Pick each target's entry: log_probs (..., T, vocab), tokens (..., T) -> (..., T)."""
    return jnp.take_along_axis(log_probs, tokens[..., None], axis=-1)[..., 0]


@partial(jax.jit, static_argnames="model")
def token_log_probs(model: TinyLM, params, tokens, prefix=None):
    """(..., T) log p(token t | prefix, tokens < t) in nats; 0.0 where not scored (token 0, no prefix)."""
    lp = target_log_probs(next_token_log_probs(model, params, tokens, prefix), tokens)
    return jnp.where(scored_mask(tokens.shape[-1], prefix), lp, 0.0)


@partial(jax.jit, static_argnames="model")
def token_losses(model: TinyLM, params, tokens, prefix=None):
    """(..., T) per-token cross-entropy -log p(token t | context) in nats; 0.0 where not scored."""
    return -token_log_probs(model, params, tokens, prefix)


@partial(jax.jit, static_argnames="model")
def token_correct(model: TinyLM, params, tokens, prefix=None):
    """(..., T) bool: teacher-forced argmax prediction equals the token; False where not scored."""
    pred = jnp.argmax(next_token_log_probs(model, params, tokens, prefix), axis=-1)
    return (pred == tokens) & scored_mask(tokens.shape[-1], prefix)


def masked_mean(values, mask=None, prefix=None):
    """Mean over the last axis of (..., T) ``values`` where ``mask`` (..., T) (bool or weights) and
    the token is scored; (...,). An all-masked row gives 0.0."""
    w = scored_mask(values.shape[-1], prefix).astype(values.dtype)
    if mask is not None:
        w = w * mask.astype(values.dtype)
    return (values * w).sum(-1) / jnp.maximum(w.sum(-1), 1e-12)


@partial(jax.jit, static_argnames="model")
def example_losses(model: TinyLM, params, tokens, mask=None, prefix=None):
    """(...,) per-example mean token loss (nats) over the positions where ``mask`` (..., T) is set.

    ``mask`` selects e.g. the summary of a prefix-LM example or the digits of a canary; None means
    every scored token.
    """
    return masked_mean(token_losses(model, params, tokens, prefix), mask, prefix)


@partial(jax.jit, static_argnames="model")
def mean_loss(model: TinyLM, params, tokens, mask=None, prefix=None, weights=None):
    """Scalar training loss: ``example_losses`` averaged over the batch (B, T) with optional (B,)
    example ``weights`` (multiplicities, or 0 for padding rows)."""
    losses = example_losses(model, params, tokens, mask, prefix)
    if weights is None:
        return losses.mean()
    weights = weights.astype(losses.dtype)
    return (losses * weights).sum() / jnp.maximum(weights.sum(), 1e-12)


@partial(jax.jit, static_argnames=("model", "n_digits"))
def secret_log_perplexities(model: TinyLM, params, template, n_digits: int, digit_offset: int = 0):
    """Log-perplexity Px(template + s) = -sum_j log2 p(digit_j | template, digits < j), in bits, of every
    secret s of R = {0..9}^n_digits in index order (``rote.sims.text.secret_space``): (10^n_digits,).

    The enumeration of Carlini et al. (arXiv 1802.08232, Sec. 4.2) in one batched forward: the
    10^(n-1) rows template + (first n-1 digits) + any last token hold, by the causal mask, every
    conditional the n digits need (row t of the output is token t given tokens < t), so the 10^n
    candidates cost 10^(n-1) sequences. template (L,) int with L + n_digits <= context; digit d is
    token ``digit_offset + d``.
    """
    template = jnp.asarray(template, jnp.int32)
    L, n = template.shape[0], n_digits
    heads = jnp.arange(10 ** (n - 1))
    powers = 10 ** jnp.arange(n - 2, -1, -1)
    head_digits = ((heads[:, None] // powers) % 10).astype(jnp.int32)  # (10^(n-1), n-1)
    rows = jnp.concatenate([jnp.broadcast_to(template, (heads.shape[0], L)), head_digits + digit_offset,
                            jnp.full((heads.shape[0], 1), digit_offset, jnp.int32)], axis=1)
    lp = next_token_log_probs(model, params, rows)[:, L:, digit_offset : digit_offset + 10]  # (10^(n-1), n, 10)
    known = jnp.take_along_axis(lp[:, : n - 1, :], head_digits[..., None], axis=-1)[..., 0].sum(-1)  # (10^(n-1),)
    total = known[:, None] + lp[:, n - 1, :]  # (10^(n-1), 10): last digit varies fastest
    return -total.reshape(-1) / jnp.log(2.0)
