"""Shared fixtures of the lexical-overlap tests: the smoke scale swept in memory."""

from __future__ import annotations

import pytest

from rote.sims import engine
from rote.sims.studies.lexical_overlap import STUDY
from rote.sims.studies.lexical_overlap.scales import smoke_scale


def quiet(msg):
    del msg


@pytest.fixture(scope="session")
def smoke_main():
    """{'main': summarized Dataset} of the smoke scale's main panel only (one compile), nothing written."""
    base, grid = smoke_scale().sweeps()["main"]
    return {"main": engine.sweep(STUDY, base, grid, None, scale="smoke", progress=False, log=quiet)}


@pytest.fixture(scope="session")
def smoke():
    """{panel: summarized Dataset} of the smoke scale (main, calibration, control), nothing written."""
    scale = smoke_scale()
    return {name: engine.sweep(STUDY, base, grid, None, scale="smoke", progress=False, log=quiet)
            for name, (base, grid) in scale.sweeps().items()}
