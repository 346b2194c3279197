"""Shared fixtures of the lm-membership tests: the smoke scale swept in memory (two compiles: the
shadow / dedup program and the negative-control program, whose pool size differs)."""

from __future__ import annotations

import pytest

from rote.sims import engine
from rote.sims.studies.lm_membership import STUDY
from rote.sims.studies.lm_membership.scales import smoke_scale


def quiet(msg):
    del msg


@pytest.fixture(scope="session")
def smoke():
    """{panel: summarized Dataset} of the smoke scale (shadow, dedup, negative), nothing written."""
    scale = smoke_scale()
    return {name: engine.sweep(STUDY, base, grid, None, scale="smoke", progress=False, log=quiet)
            for name, (base, grid) in scale.sweeps().items()}
