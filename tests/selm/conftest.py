"""Shared fixtures of the selm tests: the public-model cache in a temporary directory, and the smoke scale
swept in memory (one compile: every panel has the same static shape)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def selm_cache(tmp_path_factory):
    """ROTE_CACHE in a fresh temporary directory for the whole session (restored afterwards)."""
    old = os.environ.get("ROTE_CACHE")
    path = tmp_path_factory.mktemp("rote_cache")
    os.environ["ROTE_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("ROTE_CACHE", None)
    else:
        os.environ["ROTE_CACHE"] = old


@pytest.fixture(scope="session")
def smoke(selm_cache):
    """{panel: summarized Dataset} of the smoke scale, nothing written."""
    from rote.sims import results
    from rote.sims.studies.selm import STUDY

    return results.sweep_in_memory(STUDY, "smoke")
