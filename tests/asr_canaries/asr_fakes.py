"""Synthetic summarized panels of the asr-canaries study for the claim checks (a plain module, not a conftest,
so its name is unique across the suite): every claim is fed a passing, a wrong and a plausible-alternative input."""

from __future__ import annotations

import numpy as np
import xarray as xr

LEVELS = np.array([0, 1, 2, 4, 8, 16])
PER = 20
SEEDS = [0, 1, 2]


def panel_ds(ter_by_r, clean=0.04, seeds=SEEDS, extra=None, gap=np.nan, noise=0.01):
    """A summarized panel: ter_r (seed, r [, extra dim]) from ``ter_by_r`` (r,) or {coord: (r,)}, clean TER."""
    rng = np.random.default_rng(0)
    canary_r = np.repeat(LEVELS, PER)

    def one(ter, cl):
        ter = np.asarray(ter, float)
        per_canary = np.repeat(ter, PER)[None, :] + noise * rng.standard_normal((len(seeds), canary_r.size))
        ds = xr.Dataset(coords={"seed": seeds, "canary": np.arange(canary_r.size)})
        ds = ds.assign_coords(canary_r=("canary", canary_r))
        ds["canary_ter"] = (("seed", "canary"), np.clip(per_canary, 0, None))
        ds["ter_r"] = ds["canary_ter"].assign_coords(r=("canary", canary_r)).groupby("r").mean("canary")
        ds["memorization"] = ds["ter_r"].sel(r=0) - ds["ter_r"]
        ds["clean_ter"] = (("seed",), np.full(len(seeds), cl))
        ds["inf_gap"] = (("seed",), np.full(len(seeds), gap))
        return ds

    if extra is None:
        return one(ter_by_r, clean)
    name, values = extra
    cl = clean if isinstance(clean, dict) else {v: clean for v in values}
    return xr.concat([one(ter_by_r[v], cl[v]) for v in values], dim=xr.DataArray(list(values), dims=name, name=name))


def baseline_panel(trained=(0.85, 0.5, 0.35, 0.15, 0.03, 0.0), control=(0.9,) * 6, clean=0.04, control_clean=0.04):
    return panel_ds({True: trained, False: control}, clean={True: clean, False: control_clean}, extra=("insert_canaries", [True, False]))


def budget_panel(ter=(0.8, 0.0, 0.0, 0.0, 0.0, 0.0), clean=0.03):
    return panel_ds(ter, clean=clean, seeds=[0, 1])


def pec_panel(small=(0.85, 0.86, 0.85, 0.84, 0.8, 0.7), large=(0.85, 0.84, 0.82, 0.75, 0.6, 0.3), clean=(0.07, 0.04), gap=1e-7):
    return panel_ds({0.1: small, 0.3: large}, clean=dict(zip((0.1, 0.3), clean)), seeds=[0, 1], extra=("clip", [0.1, 0.3]), gap=gap)


def pcc_panel(few=(0.85, 0.8, 0.7, 0.55, 0.2, 0.0), many=(0.85, 0.84, 0.8, 0.7, 0.5, 0.2), clean=(0.035, 0.04), gap=1e-7):
    return panel_ds({4: few, 16: many}, clean=dict(zip((4, 16), clean)), seeds=[0, 1], extra=("cores", [4, 16]), gap=gap)


def evidence(**over):
    ev = {"baseline": baseline_panel(), "budget": budget_panel(), "pec": pec_panel(), "pcc": pcc_panel()}
    ev.update(over)
    return ev
