"""The model of the `t2i-duplication` study: the shared ``rote.sims.diffusion.T2IDenoiser`` (bag-of-words text
encoder with a null embedding, FiLM MLP eps-denoiser), sized by the study's static parameters.

The toy design's model (an MLP eps-predictor with FiLM conditioning on [t, c]; about 0.9M parameters at 8 x 8
with width 256): here width 128, hidden 256, 2 blocks at quick scale (about 0.3M), predicting v there (Salimans & Ho,
arXiv 2202.00512): the eps-predicting model did not learn the generic family (NOTES.md).
"""

from __future__ import annotations

from ... import diffusion as dm
from .data import layout
from .params import T2IParams


def build_model(p: T2IParams) -> dm.T2IDenoiser:
    return dm.build_denoiser(p, len(layout(p).vocab))


def param_count(p: T2IParams) -> int:
    return dm.denoiser_param_count(p, len(layout(p).vocab))
