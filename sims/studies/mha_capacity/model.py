"""The attention models of the `mha-capacity` study, built from the shared blocks of ``rote.sims.nn``.

Mahdavi, Liao, Thrampoulidis, "Memorization Capacity of Multi-Head Attention in Transformers" (ICLR
2024, arXiv 2306.02010).

``OfficialAttention`` is the model of the paper's synthetic experiments (Sec. 5, Fig. 2; the paper's
official code): input rows [query e; context x_1..x_n] in R^d, a linear embedding R^d -> R^D with bias,
fixed sinusoidal positions (the query gets PE(0)), H heads with W_Q, W_K in R^{D x d_h} and a scalar
value W_V in R^{D x 1}; scores Q K^T / sqrt(D) (model width, not d_h); the query token is masked from
every row; the H head outputs go through W_O in R^{H x D} and are decoded by Linear(D -> C). Only
position 0 is read, so the query row is computed alone; ``official_full_logits`` is the full
(n+1) x (n+1) masked computation, kept for the equivalence test and the benchmark.

``BareAttention`` is the layer of the theory (Sec. 3): f(t) = sum_h v_h^T E(t)^T softmax(E(t) W_K^h
W_Q^h^T e(t)), no embedding, no positions, value dimension 1 per head.

Heads, context rows and head columns are masked, so a model compiled at (H_max, n_max, d_h_max) is the
(H, n, d_h) model exactly: a masked head's output is multiplied by 0 (zero gradient, it never moves)
and W_O's Xavier bound uses the active H; rows >= n get attention weight exactly 0; W_Q, W_K columns
>= d_h are multiplied by 0 and their Xavier bound sqrt(6 / (D + d_h)) uses the active d_h.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from ...nn import attend, masked_softmax, sinusoidal_positions, torch_linear_init, xavier_uniform
from .params import MHAParams


def column_mask(width: int, active):
    """(width,) 0/1 float mask of the first ``active`` (traced) columns."""
    return (jnp.arange(width) < active).astype(jnp.float32)


class OfficialAttention(nn.Module):
    """The paper's experimental model (Sec. 5), evaluated at the query position only.

    __call__(queries (B, d), contexts (B or 1, n_max, d), head_mask (H_max,), n_heads, n, d_h) -> (B, C)
    logits and the attention weights (B, H_max, n_max) (zero on rows >= n). ``n`` and ``d_h`` may be
    traced; they default to the compiled sizes. A shared context (leading size 1) has its keys computed
    once; a context per example folds W_K into the query instead, (q W_K^T) . x'_i: H D d_h instead of
    H n D d_h multiply-adds per example. The scores and the weighted sum of values are this model's own
    einsums, not ``rote.sims.nn.attend``: attend's matmuls round differently, and training amplifies
    that last bit into different outcomes at quick scale (NOTES.md).
    """

    D: int
    d_h_max: int
    H_max: int
    C: int

    @nn.compact
    def __call__(self, queries, contexts, head_mask, n_heads, n=None, d_h=None):
        d, n_max = queries.shape[-1], contexts.shape[-2]
        n = n_max if n is None else n
        d_h = self.d_h_max if d_h is None else d_h
        embed = nn.Dense(self.D, kernel_init=torch_linear_init(d), bias_init=torch_linear_init(d), name="embed")
        pe = sinusoidal_positions(n_max + 1, self.D)
        q_tok = embed(queries) + pe[0]  # (B, D)
        ctx = embed(contexts) + pe[1:]  # (B|1, n_max, D): computed once when the context is shared
        cols = column_mask(self.d_h_max, d_h)
        Wq = self.param("Wq", xavier_uniform(self.D, d_h), (self.H_max, self.D, self.d_h_max)) * cols
        Wk = self.param("Wk", xavier_uniform(self.D, d_h), (self.H_max, self.D, self.d_h_max)) * cols
        Wv = self.param("Wv", xavier_uniform(self.D, 1), (self.H_max, self.D))
        Wo = self.param("Wo", xavier_uniform(n_heads, self.D), (self.H_max, self.D))
        values = jnp.einsum("cnD,hD->chn", ctx, Wv)  # (B|1, H, n_max), broadcasts over B when shared
        q = jnp.einsum("bD,hDk->bhk", q_tok, Wq)  # (B, H, d_h_max)
        if ctx.shape[0] == 1:  # shared context: its keys once per step, (1, H, n_max, d_h_max)
            scores = jnp.einsum("bhk,hnk->bhn", q, jnp.einsum("cnD,hDk->chnk", ctx, Wk)[0])
        else:  # own context per example: fold W_K into the query, q W_K^T (B, H, D), then against ctx
            scores = jnp.einsum("bhD,bnD->bhn", jnp.einsum("bhk,hDk->bhD", q, Wk), ctx)
        attn = masked_softmax(scores / math.sqrt(self.D), n)  # (B, H, n_max): the query token is never a key
        heads = jnp.sum(attn * values, axis=-1) * head_mask  # (B, H)
        out = heads @ Wo  # (B, D)
        logits = nn.Dense(self.C, kernel_init=torch_linear_init(self.D), bias_init=torch_linear_init(self.D), name="decoder")(out)
        return logits, attn


class BareAttention(nn.Module):
    """The layer of the theory (arXiv 2306.02010, Sec. 3): f(t) = sum_h v_h^T E(t)^T softmax(E(t) W_K^h W_Q^h^T e(t)).

    Returns (B, 1) outputs and the attention weights (B, H_max, n_max); ``n`` and ``d_h`` masked as in
    OfficialAttention.
    """

    d_h_max: int
    H_max: int

    @nn.compact
    def __call__(self, queries, contexts, head_mask, n_heads, n=None, d_h=None):
        d = queries.shape[-1]
        n = contexts.shape[-2] if n is None else n
        d_h = self.d_h_max if d_h is None else d_h
        cols = column_mask(self.d_h_max, d_h)
        Wq = self.param("Wq", xavier_uniform(d, d_h), (self.H_max, d, self.d_h_max)) * cols
        Wk = self.param("Wk", xavier_uniform(d, d_h), (self.H_max, d, self.d_h_max)) * cols
        v = self.param("v", xavier_uniform(d, 1), (self.H_max, d))
        keys = jnp.einsum("cnd,hdk->chnk", contexts, Wk)  # (B|1, H, n_max, d_h_max)
        q = jnp.einsum("bd,hdk->bhk", queries, Wq)
        z, attn = attend(q[:, :, None], keys, contexts[:, None], 1.0, n_active=n)  # z (B, H, 1, d) = E^T a_h
        out = jnp.einsum("bhd,hd,h->b", z[:, :, 0], v, head_mask)
        return out[:, None], attn[:, :, 0]


def build_model(params: MHAParams) -> nn.Module:
    if params.model == "bare":
        return BareAttention(d_h_max=params.d_h_max, H_max=params.H_max)
    return OfficialAttention(D=params.D, d_h_max=params.d_h_max, H_max=params.H_max, C=params.C)


def official_full_logits(variables, queries, contexts, n_heads, D: int):
    """The official computation over all n+1 positions with key column 0 (the query token) masked for
    every row, read at position 0. Shapes as OfficialAttention; every context row and head column active."""
    p = variables["params"]
    B, n = queries.shape[0], contexts.shape[-2]
    X = jnp.concatenate([queries[:, None, :], jnp.broadcast_to(contexts, (B, n, contexts.shape[-1]))], axis=1)
    x = X @ p["embed"]["kernel"] + p["embed"]["bias"] + sinusoidal_positions(n + 1, D)
    Q = jnp.einsum("btD,hDk->bhtk", x, p["Wq"])
    K = jnp.einsum("btD,hDk->bhtk", x, p["Wk"])
    V = jnp.einsum("btD,hD->bht", x, p["Wv"])
    heads, _ = attend(Q, K, V[..., None], 1.0 / math.sqrt(D), mask=jnp.arange(n + 1) > 0)  # (B, H, n+1, 1)
    mask = (jnp.arange(p["Wq"].shape[0]) < n_heads).astype(x.dtype)
    out = (jnp.swapaxes(heads[..., 0], 1, 2) * mask) @ p["Wo"]
    return (out @ p["decoder"]["kernel"] + p["decoder"]["bias"])[:, 0]
