"""The model of the `memorization-types` study: the shared tiny decoder-only LM (``rote.sims.lm.TinyLM``:
pre-LN, learned positions, untied output), sized by the study's static parameters and the probe's
vocabulary and row length (Hartmann et al., arXiv 2310.18362, Sec. 3 of its toy design)."""

from __future__ import annotations

from ...lm import TinyLM
from .params import TypesParams


def build_model(p: TypesParams) -> TinyLM:
    return TinyLM(vocab=p.vocab, context=p.row_length, width=p.width, layers=p.layers, heads=p.heads, mlp_ratio=p.mlp_ratio)


def param_count(p: TypesParams) -> int:
    """Trainable scalars: embeddings (V + T) d, per block 4 d^2 + 4 d (attention) + 2 m d^2 + (m + 1) d
    (MLP, m = mlp_ratio) + 4 d (LayerNorms), final LayerNorm 2 d, untied head d V + V."""
    d, V, T, m = p.width, p.vocab, p.row_length, p.mlp_ratio
    block = 4 * d * d + 4 * d + 2 * m * d * d + (m + 1) * d + 4 * d
    return (V + T) * d + p.layers * block + 2 * d + d * V + V
