"""The model of the `entity-memorization` study: the shared tiny decoder-only LM (``rote.sims.lm.TinyLM``)
with its prefix embeddings as a learned start prefix (trained with the model) and as the EME soft prompt (Zhou et al., arXiv 2308.15727, Sec. 3; prompt
tuning, Lester et al., arXiv 2104.08691). The toy design: 2 layers x width 64 x 4 heads, vocabulary
158, context 20 (the longest mention)."""

from __future__ import annotations

from ...lm import TinyLM
from ...records import MENTION_LENGTH, layout
from .params import EntityParams


def vocab_layout(p: EntityParams):
    return layout(p.n_first, p.n_last, p.n_cities, p.n_employers)


def build_model(p: EntityParams) -> TinyLM:
    return TinyLM(vocab=vocab_layout(p).vocab, context=MENTION_LENGTH, width=p.width, layers=p.layers, heads=p.heads,
                  mlp_ratio=p.mlp_ratio)


def param_count(p: EntityParams) -> int:
    d, V, T, m = p.width, vocab_layout(p).vocab, MENTION_LENGTH, p.mlp_ratio
    block = 4 * d * d + 4 * d + 2 * m * d * d + (m + 1) * d + 4 * d
    return (V + T) * d + p.layers * block + 2 * d + d * V + V
