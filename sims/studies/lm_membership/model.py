"""The model of the `lm-membership` study: the shared tiny decoder-only LM (``rote.sims.lm.TinyLM``:
pre-LN, learned positions, untied output), sized by the study's static parameters.

The toy model of the memorization survey (Hartmann et al., arXiv 2310.18362, Sec. 3 of its toy
design): 2 layers x width 64 x 4 heads, MLP 4 x 64, vocabulary 48.
"""

from __future__ import annotations

from ...lm import TinyLM
from .params import MembershipParams


def build_model(params: MembershipParams) -> TinyLM:
    return TinyLM(vocab=params.vocab, context=params.context, width=params.width, layers=params.layers,
                  heads=params.heads, mlp_ratio=params.mlp_ratio)


def param_count(params: MembershipParams) -> int:
    """Trainable scalars: embeddings (V + T) d, per block 4 d^2 + 4 d (attention) + 2 m d^2 + (m + 1) d
    (MLP, m = mlp_ratio) + 4 d (two LayerNorms), final LayerNorm 2 d, untied head d V + V."""
    d, V, T, m = params.width, params.vocab, params.context, params.mlp_ratio
    block = 4 * d * d + 4 * d + 2 * m * d * d + (m + 1) * d + 4 * d
    return (V + T) * d + params.layers * block + 2 * d + d * V + V
