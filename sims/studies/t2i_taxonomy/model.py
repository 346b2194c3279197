"""The model of the `t2i-taxonomy` study: the shared ``rote.sims.diffusion.T2IDenoiser`` (bag-of-words text encoder with a
null embedding, FiLM MLP eps-denoiser), sized by the study's static parameters (as in `t2i-duplication`: width 128,
hidden 256, 2 blocks at quick scale)."""

from __future__ import annotations

from ... import diffusion as dm
from .data import layout
from .params import TaxonomyParams


def build_model(p: TaxonomyParams) -> dm.T2IDenoiser:
    return dm.build_denoiser(p, len(layout(p).vocab))


def param_count(p: TaxonomyParams) -> int:
    return dm.denoiser_param_count(p, len(layout(p).vocab))
