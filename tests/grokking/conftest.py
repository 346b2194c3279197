"""Session-scoped results for the grokking tests.

Everything is generated here (nothing is read from results/): two small quick-scale sweeps (p 47,
N 192, 1000 steps) that hold exactly the grid cells the claims read. Compiled functions are cached
per (static group, chunk size).
"""

from __future__ import annotations

import pytest

from rote.sims import engine
from rote.sims.studies.grokking import STUDY, scales

# Quick scale: the named cells that claims 4-6 read, and the grokking cell with a wd-0 twin.
QUICK = scales.quick_scale().base
CELL_AXES = {"alpha": (0.5, 0.7, 0.9), "xi": (0.2, 0.35), "weight_decay": (0.0, 2.5, 5.0, 7.5, 10.0, 15.0)}
GROK_AXES = {"alpha": (0.5,), "xi": (0.0,), "weight_decay": (0.0, 5.0)}


def quiet(_msg):
    pass


@pytest.fixture(scope="session")
def grokking_study():
    return STUDY


@pytest.fixture(scope="session")
def cells_ds(grokking_study):
    """36 quick-scale configs: every named cell of the quick scale (``Scale.cells``) except the grokking
    one (about 40 s on 2 CPU cores)."""
    return engine.sweep(grokking_study, QUICK, CELL_AXES, None, chunk_size=12, progress=False, log=quiet)


@pytest.fixture(scope="session")
def grok_ds(grokking_study):
    """Quick scale, alpha 0.5, xi 0: wd 5 (the grokking cell, Figure 2 setting) and wd 0 (slower)."""
    return engine.sweep(grokking_study, QUICK, GROK_AXES, None, chunk_size=2, progress=False, log=quiet)
