"""Shared, session-scoped results for the test suite.

Everything the tests need is generated here (nothing is read from results/): a tiny sweep for the
engine tests, and two small quick-scale sweeps (p 47, N 192, 1000 steps) that hold exactly the grid
cells the grokking claims read. Compiled functions are cached per (static group, chunk size), so the
engine tests reuse chunk sizes 4 and 6 on the tiny grid wherever they can.
"""

from __future__ import annotations

import numpy as np
import pytest

from rote.sims import engine
from rote.sims.studies import grokking

# Tiny grid for the engine: alpha is static (two compiled groups of six configs each).
TINY = grokking.GrokkingParams(p=11, N=16, steps=20, log_every=10)
TINY_AXES = {"alpha": (0.5, 0.7), "xi": (0.0, 0.3, 0.5), "weight_decay": (0.0, 1.0)}

# Quick scale (fact sheet 6.3): the cells that claims 4-6 read, and the grokking cell with a wd-0 twin.
QUICK = grokking.quick_scale().base
CELL_AXES = {"alpha": (0.5, 0.7, 0.9), "xi": (0.2, 0.35), "weight_decay": (0.0, 2.5, 5.0, 7.5, 10.0, 15.0)}
GROK_AXES = {"alpha": (0.5,), "xi": (0.0,), "weight_decay": (0.0, 5.0)}


def quiet(_msg):
    pass


def assert_metrics_close(a, b, metrics, atol=1e-6):
    """Every metric of two Datasets (or dicts of arrays) equal within atol; NaN where the other is NaN."""
    for name in metrics:
        x, y = np.asarray(a[name], dtype=np.float64), np.asarray(b[name], dtype=np.float64)
        assert x.shape == y.shape, name
        np.testing.assert_allclose(x, y, rtol=0, atol=atol, err_msg=name, equal_nan=True)


@pytest.fixture(scope="session")
def study():
    return grokking.STUDY


@pytest.fixture(scope="session")
def metric_names(study):
    return tuple(study.metric_dims)


@pytest.fixture(scope="session")
def tiny_ref(study):
    """The tiny grid in memory, one chunk per static group (chunk size 6)."""
    return engine.sweep(study, TINY, TINY_AXES, None, chunk_size=6, progress=False, log=quiet)


@pytest.fixture(scope="session")
def tiny_ref4(study):
    """The same grid with chunk size 4: each group of 6 is cut into 4 + 2 (padded to 4)."""
    return engine.sweep(study, TINY, TINY_AXES, None, chunk_size=4, progress=False, log=quiet)


@pytest.fixture(scope="session")
def cells_ds(study):
    """36 quick-scale configs: every cell of grokking_claims.CELLS['quick'] except the grokking one
    (about 40 s on 2 CPU cores)."""
    return engine.sweep(study, QUICK, CELL_AXES, None, chunk_size=12, progress=False, log=quiet)


@pytest.fixture(scope="session")
def grok_ds(study):
    """Quick scale, alpha 0.5, xi 0: wd 5 (the grokking cell, Figure 2 setting) and wd 0 (slower)."""
    return engine.sweep(study, QUICK, GROK_AXES, None, chunk_size=2, progress=False, log=quiet)
