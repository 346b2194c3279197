"""Session-scoped results of the engine tests, on their toy study (``tests/engine/toy_study.py``).

Nothing is read from results/. Compiled functions are cached per (static group, chunk size), so the
engine tests reuse chunk sizes 4 and 6 on the tiny grid wherever they can. Each study's own fixtures
live in its folder's conftest.py (tests/<study>/conftest.py).
"""

from __future__ import annotations

import pytest
from engine.support import quiet
from engine.toy_study import STUDY, TOY, TOY_AXES

from rote.sims import engine


@pytest.fixture(scope="session")
def toy_ref():
    """The tiny grid in memory, one chunk per static group (chunk size 6)."""
    return engine.sweep(STUDY, TOY, TOY_AXES, None, chunk_size=6, progress=False, log=quiet)


@pytest.fixture(scope="session")
def toy_ref4():
    """The same grid with chunk size 4: each group of 6 is cut into 4 + 2 (padded to 4)."""
    return engine.sweep(STUDY, TOY, TOY_AXES, None, chunk_size=4, progress=False, log=quiet)
