"""Shared fixtures of the lexical-overlap tests: the smoke scale swept in memory."""

from __future__ import annotations

import pytest

from rote.sims import results
from rote.sims.studies.lexical_overlap import STUDY


@pytest.fixture(scope="session")
def smoke_main():
    """{'main': summarized Dataset} of the smoke scale's main panel only (one compile), nothing written."""
    return results.sweep_in_memory(STUDY, "smoke", panels=("main",))


@pytest.fixture(scope="session")
def smoke():
    """{panel: summarized Dataset} of the smoke scale (main, calibration, control), nothing written."""
    return results.sweep_in_memory(STUDY, "smoke")
