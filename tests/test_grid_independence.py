"""Every registered study: a config's metrics are bit-identical swept alone, in a 2-config grid and in
a larger grid at several positions (same machine, same device count).

Chaotic training amplifies the last bit of a different rounding order into a different outcome, so
the comparison is np.array_equal, not a tolerance. The engine keeps one chunk width per static group
whatever the grid (sims/devices.py, choose_chunk_size); balanced chunks (width = what the grid needs)
fail this test.
"""

from __future__ import annotations

import numpy as np
import pytest

from rote.sims import engine
from rote.sims.studies import STUDIES, get

SEED = 3
GRIDS = {  # seed axis -> position of SEED in it
    "alone": (SEED,),
    "pair": (SEED, 7),
    "first of six": (SEED, 0, 1, 2, 4, 5),
    "middle of six": (0, 1, SEED, 2, 4, 5),
    "last of six": (0, 1, 2, 4, 5, SEED),
}


def smoke_base(study):
    scale = study.scale("smoke")
    return next(iter(scale.sweeps().values()))[0]


@pytest.mark.parametrize("name", STUDIES)
def test_config_metrics_do_not_depend_on_the_grid(name):
    study = get(name)
    base = smoke_base(study)
    runs = {label: engine.sweep(study, base, {"seed": seeds}, None, progress=False, log=lambda _: None)
            for label, seeds in GRIDS.items()}
    alone = runs["alone"].sel(seed=SEED)
    for label, ds in runs.items():
        cell = ds.sel(seed=SEED)
        for var in study.metric_dims:
            assert np.array_equal(np.asarray(cell[var]), np.asarray(alone[var]), equal_nan=True), f"{name}: {var} differs {label}"
