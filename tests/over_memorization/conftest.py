"""Shared fixture of the over-memorization tests: the smoke scale swept in memory (three compiles:
natural, PGD and FGSM training). Synthetic panels for the claim checks are in om_fakes.py."""

from __future__ import annotations

import pytest

from rote.sims import results
from rote.sims.studies.over_memorization import STUDY


@pytest.fixture(scope="session")
def smoke():
    """{panel: summarized Dataset} of the smoke scale, nothing written."""
    return results.sweep_in_memory(STUDY, "smoke")

