"""Shared fixtures of the lm-membership tests: the smoke scale swept in memory (two compiles: the
shadow / dedup program and the negative-control program, whose pool size differs)."""

from __future__ import annotations

import pytest

from rote.sims import results
from rote.sims.studies.lm_membership import STUDY


@pytest.fixture(scope="session")
def smoke():
    """{panel: summarized Dataset} of the smoke scale (shadow, dedup, negative), nothing written."""
    return results.sweep_in_memory(STUDY, "smoke")
