"""Shared fixtures of the memorization-types tests: smoke panels swept in memory (each panel is its own
compile, so the default tests sweep one panel and the slow test all six)."""

from __future__ import annotations

import pytest

from rote.sims import engine
from rote.sims.studies.memorization_types import STUDY
from rote.sims.studies.memorization_types.scales import smoke_scale


def sweep_panels(names):
    scale = smoke_scale()
    return {name: engine.sweep(STUDY, *scale.sweeps()[name], None, scale="smoke", progress=False, log=lambda m: None) for name in names}


@pytest.fixture(scope="session")
def alignment_smoke():
    """{'alignment': Dataset} of the smoke scale (variants 1 and 4 x 2 seeds)."""
    return sweep_panels(["alignment"])


@pytest.fixture(scope="session")
def all_smoke():
    """{panel: Dataset} of every smoke panel (six compiles: used by the slow test only)."""
    from rote.sims.studies.memorization_types.scales import PANELS

    return sweep_panels(PANELS)
