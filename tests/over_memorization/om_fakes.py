"""Synthetic summarized panels of the over-memorization study for the claim checks, so every claim can
be fed a passing input and its plausible alternative."""

from __future__ import annotations

import numpy as np
import xarray as xr

SEEDS = (0, 1, 2, 3)
VARIANTS = (0, 1, 2, 3, 4)


def fake_noise(gap=(0.12, 0.12, 0.03, 0.10, 0.12), noisy_fit=(0.9, 0.92, 0.76, 0.08, 0.9), decline=30.0, jump=32.0,
               orig_rise=0.5, trans_rise=0.1, seeds=SEEDS) -> xr.Dataset:
    """A summarized 'noise' panel: per variant (baseline, DOM_RE, DOM_DA, augment-all, persistence) the
    best - last gap (best 0.95), the noisy-label fit; the decline and jump epochs; the persistence rises (a number or one per seed)."""
    V, S = len(VARIANTS), len(seeds)
    ds = xr.Dataset(coords={"variant": list(VARIANTS), "seed": list(seeds)})
    full = lambda per_variant: (("variant", "seed"), np.repeat(np.asarray(per_variant, float)[:, None], S, 1))
    ds["best_acc"] = full([0.95] * V)
    ds["acc_gap"] = full(gap)
    ds["last_acc"] = ds["best_acc"] - ds["acc_gap"]
    ds["best_epoch"] = full([12.0] * V)
    ds["noisy_fit_last"] = full(noisy_fit)
    ds["decline_epoch"] = full([decline] * V)
    ds["jump_epoch"] = full([jump] * V)
    per_seed = lambda rise: (("variant", "seed"), np.broadcast_to(np.asarray(rise, float), (V, S)).copy())
    ds["orig_rise"] = per_seed(orig_rise)
    ds["trans_rise"] = per_seed(trans_rise)
    ds["orig_size"] = full([500.0] * V)
    ds["trans_size"] = full([200.0] * V)
    return ds


def fake_pgd(robust_gap=(0.08, 0.03, 0.02), overlap=0.85, seeds=SEEDS) -> xr.Dataset:
    """A summarized 'pgd' panel (baseline, DOM_RE, DOM_DA)."""
    S = len(seeds)
    ds = xr.Dataset(coords={"variant": [0, 1, 2], "seed": list(seeds)})
    ds["robust_gap"] = (("variant", "seed"), np.repeat(np.asarray(robust_gap, float)[:, None], S, 1))
    ds["robust_last"] = 0.5 - ds["robust_gap"]
    ds["overlap"] = (("variant", "seed"), np.full((3, S), overlap))
    ds["epsilon_levels"] = 1.6
    return ds


def fake_fgsm(robust_best=(0.45, 0.5), robust_last=(0.4, 0.0), co=(np.nan, 12.0)) -> xr.Dataset:
    ds = xr.Dataset(coords={"step_ratio": [1.0, 2.0], "seed": [0]})
    ds["robust_best"] = (("step_ratio", "seed"), np.asarray(robust_best)[:, None])
    ds["robust_last"] = (("step_ratio", "seed"), np.asarray(robust_last)[:, None])
    ds["co_epoch"] = (("step_ratio", "seed"), np.asarray(co, float)[:, None])
    return ds
