"""Shared fixtures of the t2i-taxonomy tests: the smoke scale swept in memory (one compile for the three panels: they
differ only in traced fields)."""

from __future__ import annotations

import pytest

from rote.sims import engine
from rote.sims.studies.t2i_taxonomy import STUDY
from rote.sims.studies.t2i_taxonomy.scales import smoke_scale


def quiet(msg):
    del msg


@pytest.fixture(scope="session")
def smoke():
    """{panel: summarized Dataset} of the smoke scale (main, insert, noise), nothing written."""
    scale = smoke_scale()
    return {name: engine.sweep(STUDY, base, grid, None, scale="smoke", progress=False, log=quiet)
            for name, (base, grid) in scale.sweeps().items()}
