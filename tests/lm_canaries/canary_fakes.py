"""Shared fixtures of the lm-canaries tests: the smoke scale swept in memory (two compiles: the plain and
the DP-SGD program), and synthetic summarized results for the claim checks, built from closed-form
exposure curves so every claim can be fed a passing, a wrong and a plausible-alternative input."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from rote.sims import results
from rote.sims.studies.lm_canaries import STUDY

LEVELS = np.array([0, 1, 2, 4, 8, 16])
PER_LEVEL = 8
PROMPTS = np.array([2, 4, 6, 8])
STEPS = np.arange(0, 601, 50)


@pytest.fixture(scope="session")
def smoke():
    """{panel: summarized Dataset} of the smoke scale (repetition, dedup, dp), nothing written."""
    return results.sweep_in_memory(STUDY, "smoke")


def exposure_curve(r, width=32, step=600, seed=0, slope=1.0, null=1.44, cap=11.0, width_gain=1.0, tau=150.0):
    """A plausible exposure: the null at r = 0, rising in log2(1 + r), in width and in steps (time constant
    tau), capped."""
    rng = np.random.default_rng(seed)
    rise = slope * 2.5 * np.log2(1 + r) * (width / 32) ** (0.3 * width_gain) * (1 - np.exp(-step / tau))
    return np.minimum(null + rise + 0.05 * rng.standard_normal(np.shape(r)), cap)


def fake_repetition(widths=(32, 64), seeds=(0, 1, 2, 3), curve=exposure_curve, extract=None, **kw) -> xr.Dataset:
    """A summarized 'repetition' panel with the variables the claims read."""
    canary_r = np.repeat(LEVELS, PER_LEVEL)
    W, S, T, C = len(widths), len(seeds), len(STEPS), canary_r.size
    exposure = np.zeros((W, S, T, C))
    for i, w in enumerate(widths):
        for j, s in enumerate(seeds):
            for t, step in enumerate(STEPS):
                exposure[i, j, t] = curve(canary_r, width=w, step=step, seed=s * 100 + t, **kw)
    ds = xr.Dataset(coords={"width": list(widths), "seed": list(seeds), "step": STEPS, "canary": np.arange(C),
                            "sequence": np.arange(C), "prompt": PROMPTS})
    ds = ds.assign_coords(canary_r=("canary", canary_r), sequence_r=("sequence", canary_r))
    ds["exposure"] = (("width", "seed", "step", "canary"), exposure)
    ds["exposure_r"] = ds["exposure"].assign_coords(r=("canary", canary_r)).groupby("r").mean("canary")
    ds["exposure_final"] = ds["exposure"].isel(step=-1)
    ds["exposure_isolated"] = ds["exposure_final"] + 0.2
    ds["exposure_extrapolated"] = ds["exposure_isolated"] + 0.3
    frac = extract if extract is not None else default_extraction
    for kind in ("canary", "sequence"):
        p = np.stack([[frac(canary_r, PROMPTS[:, None], w) for _ in seeds] for w in widths])  # (W, S, K, C)
        ds[f"{kind}_extracted"] = (("width", "seed", "prompt", kind), (np.random.default_rng(1).random(p.shape) < p).astype(float))
    ds["val_loss"] = (("width", "seed", "step"), np.stack([[val_curve(seed=100 * i + j) for j in range(S)] for i in range(W)]))
    return ds


def val_curve(tau=80.0, noise=0.003, seed=0):
    """A plausible validation loss: exponential decay to 1.1 nats with time constant tau plus logging noise;
    with the defaults it stops improving (2 noise SD) at step 400-450, after the default exposure curve's
    90 % point (300)."""
    return 1.1 + 3.4 * np.exp(-STEPS / tau) + noise * np.random.default_rng(seed).standard_normal(STEPS.size)


def default_extraction(r, k, width):
    """Probability of extraction: rises with r, k and width."""
    return np.clip(0.06 * np.log2(1 + r) * (k / 4) * (width / 32) ** 0.5, 0, 1)


def fake_dp(exposure_top=(10.0, 4.0, 2.0, 1.5), sigmas=(0.0, 0.5, 1.0, 2.0), epsilon=(np.inf, 15.0, 2.2, 0.7),
            audit=(1.0, 0.2, 0.0, 0.0), gap=1e-7) -> xr.Dataset:
    """A summarized 'dp' panel (one seed): exposure per level with the top level given."""
    canary_r = np.repeat(LEVELS, PER_LEVEL)
    e = np.array([[np.where(LEVELS == LEVELS.max(), top, 1.44) for top in exposure_top]])  # (seed, sigma, r)
    ds = xr.Dataset(coords={"seed": [0], "sigma": list(sigmas), "step": STEPS[-1:], "r": LEVELS, "canary": np.arange(canary_r.size)})
    ds = ds.assign_coords(canary_r=("canary", canary_r))
    ds["exposure_r"] = (("seed", "sigma", "step", "r"), e.transpose(0, 1, 2)[:, :, None, :])
    ds["epsilon"] = (("seed", "sigma"), np.array([epsilon], float))
    ds["epsilon_audit"] = (("seed", "sigma"), np.array([audit], float))
    ds["dp_grad_gap"] = (("seed", "sigma"), np.full((1, len(sigmas)), gap))
    return ds


def fake_dedup(exposure_by_level=(1.4, 3.0, 3.2, 3.1, 2.9, 3.3)) -> xr.Dataset:
    """A summarized 'dedup' panel (two seeds) with the given mean exposure per level."""
    canary_r = np.repeat(LEVELS, PER_LEVEL)
    per_canary = np.repeat(np.asarray(exposure_by_level, float), PER_LEVEL)
    ds = xr.Dataset(coords={"seed": [0, 1], "step": STEPS[-1:], "canary": np.arange(canary_r.size)})
    ds = ds.assign_coords(canary_r=("canary", canary_r))
    ds["exposure_final"] = (("seed", "canary"), np.stack([per_canary, per_canary]))
    ds["exposure_r"] = ds["exposure_final"].expand_dims(step=STEPS[-1:], axis=1).assign_coords(r=("canary", canary_r)).groupby("r").mean("canary")
    return ds
