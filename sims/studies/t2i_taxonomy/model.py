"""The model of the `t2i-taxonomy` study: the shared ``rote.sims.diffusion.T2IDenoiser`` (bag-of-words text encoder with a
null embedding, FiLM MLP eps-denoiser), sized by the study's static parameters (as in `t2i-duplication`: width 128,
hidden 256, 2 blocks at quick scale)."""

from __future__ import annotations

from ... import diffusion as dm
from .data import layout
from .params import TaxonomyParams

TIME_EMBED = 64


def build_model(p: TaxonomyParams) -> dm.T2IDenoiser:
    return dm.T2IDenoiser(image_dim=p.image * p.image * 3, vocab=len(layout(p).vocab), embed=p.embed, text=p.text, width=p.width,
                          hidden=p.hidden, blocks=p.blocks, time=TIME_EMBED)


def param_count(p: TaxonomyParams) -> int:
    return dm.param_count(p.image * p.image * 3, len(layout(p).vocab), p.embed, p.text, p.width, p.hidden, p.blocks, TIME_EMBED)
