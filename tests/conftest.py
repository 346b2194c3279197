"""Session-scoped results of the engine tests, on their toy study (``tests/engine/toy_study.py``).

Nothing is read from results/. Compiled functions are cached per (static group, chunk size), so the
engine tests reuse chunk sizes 4 and 6 on the tiny grid wherever they can. Each study's own fixtures
live in its folder's conftest.py (tests/<study>/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from engine.support import quiet
from engine.toy_study import STUDY, TOY, TOY_AXES

from rote.sims import engine

TESTS = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks (its worker hook would otherwise run first)
def pytest_collection_modifyitems(config, items):
    """One xdist group per study folder (tests/<study>/: its session fixtures are computed once, on one
    worker) and per top-level file, for `pytest -n 2 --dist loadgroup` (the Makefile's test command); the
    notebooks one group each (every one is a kernel run of its own)."""
    for item in items:
        rel = Path(str(item.fspath)).resolve().relative_to(TESTS.resolve())
        group = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        if rel.stem == "test_notebooks" and hasattr(item, "callspec"):
            group += "-" + item.callspec.id
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def toy_ref():
    """The tiny grid in memory, one chunk per static group (chunk size 6)."""
    return engine.sweep(STUDY, TOY, TOY_AXES, None, chunk_size=6, progress=False, log=quiet)


@pytest.fixture(scope="session")
def toy_ref4():
    """The same grid with chunk size 4: each group of 6 is cut into 4 + 2 (padded to 4)."""
    return engine.sweep(STUDY, TOY, TOY_AXES, None, chunk_size=4, progress=False, log=quiet)
