"""Shared fixture of the over-memorization tests: the smoke scale swept in memory (three compiles:
natural, PGD and FGSM training). Synthetic panels for the claim checks are in om_fakes.py."""

from __future__ import annotations

import pytest

from rote.sims import engine
from rote.sims.studies.over_memorization import STUDY
from rote.sims.studies.over_memorization.scales import smoke_scale


def quiet(msg):
    del msg


@pytest.fixture(scope="session")
def smoke():
    """{panel: summarized Dataset} of the smoke scale, nothing written."""
    return {name: engine.sweep(STUDY, base, grid, None, scale="smoke", progress=False, log=quiet)
            for name, (base, grid) in smoke_scale().sweeps().items()}

