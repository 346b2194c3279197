"""The summarizer of the `lexical-overlap` study: the shared decoder-only LM (``rote.sims.lm.TinyLM``)
used as a prefix LM, and ROUGE-2 F1 on token ids in JAX (for capping and calibration quality).

Choubey et al. (arXiv 2311.09458) fine-tune encoder-decoder summarizers (BART, PEGASUS, BRIO). Here one
row is [document, SEP, summary, EOS] and the loss covers the summary and EOS only (a prefix LM; the
choice is argued in NOTES.md). Greedy decoding starts from [document, SEP].
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ...lm import TinyLM
from ...summaries import EOS, PAD, SEP
from .params import OverlapParams, context


def build_model(p: OverlapParams, vocab: int) -> TinyLM:
    return TinyLM(vocab=vocab, context=context(p), width=p.width, layers=p.layers, heads=p.heads, mlp_ratio=p.mlp_ratio)


def param_count(p: OverlapParams, vocab: int) -> int:
    d, T, m = p.width, context(p), p.mlp_ratio
    block = 4 * d * d + 4 * d + 2 * m * d * d + (m + 1) * d + 4 * d
    return (vocab + T) * d + p.layers * block + 2 * d + d * vocab + vocab


def rows(docs, sums):
    """(N, Ld) documents and (N, Ls) PAD-padded summaries -> (N, Ld + Ls + 2) rows [doc, SEP, summary,
    EOS, PAD...] and the (N, same) loss mask of the summary tokens and the EOS."""
    n, Ls = sums.shape
    length = (sums != PAD).sum(-1)
    summ = jnp.concatenate([sums, jnp.zeros((n, 1), sums.dtype)], axis=1)
    pos = jnp.arange(Ls + 1)
    summ = jnp.where(pos == length[:, None], EOS, summ)
    out = jnp.concatenate([docs, jnp.full((n, 1), SEP, docs.dtype), summ], axis=1).astype(jnp.int32)
    mask = jnp.concatenate([jnp.zeros((n, docs.shape[1] + 1), bool), pos <= length[:, None]], axis=1)
    return out, mask


def clean(generated):
    """Generated summaries (..., S): everything after the first EOS becomes PAD (the EOS is kept)."""
    after = jnp.cumsum(generated == EOS, axis=-1) - (generated == EOS) > 0
    return jnp.where(after, PAD, generated).astype(jnp.int32)


def bigram_ids(tokens, vocab: int):
    """(..., L) cleaned token ids -> (..., L - 1) bigram ids a * V + b of word pairs, -1 elsewhere."""
    a, b = tokens[..., :-1], tokens[..., 1:]
    return jnp.where((a > EOS) & (b > EOS), a * vocab + b, -1)


def bigram_f1(q, r):
    """ROUGE-2 F1 of two bigram-id rows (Lq,), (Lr,) (-1 = none): the clipped overlap sum_g min(cnt_q,
    cnt_r) counted per occurrence in q as min(cnt_q, cnt_r) / cnt_q."""
    vq, vr = q >= 0, r >= 0
    cnt_r = ((q[:, None] == r[None, :]) & vr[None, :]).sum(1)
    cnt_q = ((q[:, None] == q[None, :]) & vq[None, :]).sum(1)
    overlap = jnp.where(vq, jnp.minimum(cnt_q, cnt_r) / jnp.maximum(cnt_q, 1), 0.0).sum()
    nq, nr = vq.sum(), vr.sum()
    prec, rec = overlap / jnp.maximum(nq, 1), overlap / jnp.maximum(nr, 1)
    return jnp.where(prec + rec > 0, 2 * prec * rec / jnp.maximum(prec + rec, 1e-12), 0.0)


def f1_against(q, refs):
    """ROUGE-2 F1 of one bigram row (L,) against every reference row (N, L') -> (N,)."""
    return jax.vmap(bigram_f1, (None, 0))(q, refs)
