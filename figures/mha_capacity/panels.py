"""The panels of the `mha-capacity` results as the figures read them: titles, selections, which configs
hold a measured capacity, and seed statistics over the measured ones only.

A capacity is the search's largest T memorized (sims/studies/mha_capacity/run.py). It is a measurement
only where the search bracketed it (``capacity_resolved``); a config whose search stopped at a bound
(T_max memorized, or nothing memorized) or did not close its bracket is drawn apart and never enters
a mean or a fit.
"""

from __future__ import annotations

import textwrap

import numpy as np
import xarray as xr

from ...sims.stats import t_quantile
from .._common import scalar_param

# (panel, swept axis, axis label) of the paper's Fig. 2 (a, b); the head-dimension panels (c) are every
# panel named head_dim*, one per context length
PANELS = (("heads", "H", "number of heads H"), ("context", "n", "context length n"))
HEAD_DIM = "head_dim"
AT_BOUND_LABEL = "at search bound (not a capacity)"
UNCLOSED_LABEL = "search bracket not closed (not a capacity)"


def title(ds: xr.Dataset) -> str:
    d, D, C, steps, T_max = (scalar_param(ds, k) for k in ("d", "D", "C", "steps", "T_max"))
    task = f"C = {C} classes" if C > 1 else "regression (C = 1)"
    target = float(np.atleast_1d(scalar_param(ds, "target_acc"))[0])
    return (f"d = {d}, D = {D}, {task}; each probe: fresh weights, ≤ {steps} full-batch Adam steps, memorized at "
            f"{target:.0%} training accuracy; T ≤ {T_max}; {ds.attrs.get('scale', '?')} scale")


def suptitle(fig, lines: list[str], fontsize: float = 10) -> None:
    """The figure title, each line wrapped to the figure's width (about 14 characters per inch at 10 pt)."""
    width = max(40, int(fig.get_figwidth() * 140 / fontsize))
    fig.suptitle("\n".join(textwrap.fill(line, width) for line in lines), fontsize=fontsize)


def dedup_legend(ax, **kwargs) -> None:
    """The axes' legend with each label once."""
    seen = {}
    for handle, label in zip(*ax.get_legend_handles_labels()):
        seen.setdefault(label, handle)
    if seen:
        ax.legend(list(seen.values()), list(seen), **kwargs)


def context_text(ds: xr.Dataset) -> str:
    return "random contexts" if scalar_param(ds, "context") == "random" else "shared context"


def lr_text(ds: xr.Dataset) -> str:
    """'best lr per config' when lr is swept, else the single lr."""
    if "lr" in ds.dims and ds.sizes["lr"] > 1:
        return "best lr per config"
    return f"lr {float(np.atleast_1d(scalar_param(ds, 'lr'))[0]):g}"


def selected(ds: xr.Dataset, var: str, keep: tuple[str, ...]) -> xr.DataArray:
    """ds[var] with size-1 dims other than ``keep`` dropped and any other extra dim at its first value."""
    da = ds[var]
    for dim in list(da.dims):
        if dim not in keep:
            da = da.isel({dim: 0}, drop=True)
    return da.transpose(*[k for k in keep if k in da.dims])


def head_dim_panels(evidence: dict) -> list[tuple[str, xr.Dataset, int]]:
    """[(name, panel, n)] of the head-dimension panels, largest n first."""
    found = [(name, ds, int(scalar_param(ds, "n"))) for name, ds in evidence.items() if name.startswith(HEAD_DIM)]
    return sorted(found, key=lambda item: -item[2])


def _collapse_T(ds: xr.Dataset) -> xr.Dataset:
    """search = 'fixed' on a T grid: each config at the grid T with the largest memorized T (the first T
    if none); capacity_at_bound where nothing or the whole grid was memorized."""
    T_grid = ds["T"].values
    cap = ds["capacity"].max("lr") if "lr" in ds["capacity"].dims else ds["capacity"]
    out = ds.isel(T=cap.argmax("T"))
    at_bound = (out["capacity"] <= 0) | (out["capacity"] >= T_grid.max())
    out["capacity_at_bound"] = at_bound
    out["capacity_resolved"] = ~at_bound
    estimate = out["capacity"].astype(float).where(~at_bound)
    out["capacity_estimate"] = estimate.max("lr") if "lr" in estimate.dims else estimate
    return out.drop_vars("T", errors="ignore")


def prepare(ds: xr.Dataset) -> xr.Dataset:
    """A summarized panel with a seed axis and per config (lr folded): ``shown`` (the search's capacity,
    best over lr), ``resolved`` (a measured capacity), ``at_bound`` (stopped at a search bound) and
    ``lr_index`` (the lr of the estimate, for the attention variables). A T grid (search = 'fixed') is
    folded to the largest T memorized."""
    ds = ds.copy()
    if "T" in ds["capacity"].dims:
        ds = _collapse_T(ds)
    if "seed" not in ds.dims:
        seed = [int(np.atleast_1d(scalar_param(ds, "seed"))[0])]
        ds = ds.drop_vars("seed", errors="ignore")
        for name in list(ds.data_vars):  # one seed: no seed statistics were added, every variable gets the axis
            ds[name] = ds[name].expand_dims(seed=seed)
    estimate = ds["capacity_estimate"]
    cap = ds["capacity"].astype(float)
    if "lr" in cap.dims:
        choice = cap.where(ds["capacity_resolved"], -1.0).argmax("lr")
        ds["lr_index"] = choice
        ds["shown"] = cap.max("lr")
        ds["at_bound"] = ds["capacity_at_bound"].any("lr") & estimate.isnull()
    else:
        ds["shown"] = cap
        ds["at_bound"] = ds["capacity_at_bound"] & estimate.isnull()
    ds["resolved"] = estimate.notnull()
    return ds


def at_lr(ds: xr.Dataset, var: str) -> xr.DataArray:
    """ds[var] at the lr of each config's capacity estimate (unchanged without an lr axis)."""
    if "lr_index" in ds and "lr" in ds[var].dims:
        return ds[var].isel(lr=ds["lr_index"])
    return ds[var]


def per_seed(ds: xr.Dataset, axis: str) -> dict[str, np.ndarray]:
    """x (A,) and per (x, seed) arrays (A, S): shown, resolved, at_bound, estimate."""
    out = {"x": ds[axis].values.astype(float)}
    for key, var in (("shown", "shown"), ("resolved", "resolved"), ("at_bound", "at_bound"), ("estimate", "capacity_estimate")):
        out[key] = selected(ds, var, (axis, "seed")).values
    out["resolved"] = out["resolved"].astype(bool)
    out["at_bound"] = out["at_bound"].astype(bool)
    return out


def seed_stats(values: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row of (A, S): (mean, lo, hi, count) over the kept entries; lo, hi the two-sided 95 % Student t
    interval of the mean (lo = hi = mean with one; NaN with none)."""
    A = values.shape[0]
    mean, lo, hi, count = np.full(A, np.nan), np.full(A, np.nan), np.full(A, np.nan), np.zeros(A, int)
    for i in range(A):
        v = values[i][keep[i] & np.isfinite(values[i])].astype(float)
        count[i] = v.size
        if v.size == 0:
            continue
        mean[i] = v.mean()
        half = t_quantile(v.size - 1) * v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else 0.0
        lo[i], hi[i] = mean[i] - half, mean[i] + half
    return mean, lo, hi, count
