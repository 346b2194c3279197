"""The panels of the `mha-capacity` results as the figures read them: titles, selections, the best
learning rate and the seed statistics of the capacity measures."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ...sims.studies.mha_capacity.analysis import seed_interval
from .._common import scalar_param

# (panel, swept axis, axis label) of the paper's Fig. 2 (a-c)
PANELS = (("heads", "H", "number of heads H"), ("context", "n", "context length n"), ("head_dim", "d_h", "head dimension d_h"))
SEED_VARS = ("capacity", "capacity_censored", "acc", "memorized", "best_acc", "saturated_fraction", "saturated_fraction_init",
             "max_attn", "max_attn_init", "train_loss", "train_acc")


def title(ds: xr.Dataset) -> str:
    d, D, C, steps = (scalar_param(ds, k) for k in ("d", "D", "C", "steps"))
    task = f"C = {C} classes" if C > 1 else "regression (C = 1)"
    return f"d = {d}, D = {D}, {task}, {steps} full-batch Adam steps, {ds.attrs.get('scale', '?')} scale"


def context_text(ds: xr.Dataset) -> str:
    return "random contexts" if scalar_param(ds, "context") == "random" else "shared context"


def lr_text(ds: xr.Dataset, per: str) -> str:
    """'best lr per <per>' when lr is swept, else the single lr."""
    if "lr" in ds.dims and ds.sizes["lr"] > 1:
        return f"best lr per {per}"
    return f"lr {float(np.atleast_1d(scalar_param(ds, 'lr'))[0]):g}"


def selected(ds: xr.Dataset, var: str, keep: tuple[str, ...]) -> xr.DataArray:
    """ds[var] with size-1 dims other than ``keep`` dropped and any other extra dim at its first value."""
    da = ds[var]
    for dim in list(da.dims):
        if dim not in keep:
            da = da.isel({dim: 0}, drop=True)
    return da.transpose(*[k for k in keep if k in da.dims])


def series_dims(ds: xr.Dataset, axis: str) -> list[tuple[str, xr.Dataset]]:
    """Split a panel into series along an extra swept dim of size > 1 (e.g. H in a context panel)."""
    extra = [dim for dim in ds["capacity"].dims if dim not in (axis, "seed") and ds.sizes[dim] > 1]
    if not extra:
        return [("", ds)]
    dim = extra[0]
    return [(f"{dim} = {v:g}", ds.sel({dim: v})) for v in ds[dim].values]


def best_lr_choice(ds: xr.Dataset) -> xr.DataArray | None:
    """Index of the best learning rate per (..., T, seed): highest best-checkpoint accuracy, ties broken
    by the lower minimum training loss (the loss term is below one example's accuracy step). None if
    the panel has no lr axis."""
    if "lr" not in ds.dims:
        return None
    acc = ds["best_acc"] if "best_acc" in ds else ds["train_acc"].isel(step=-1)
    loss = ds["train_loss"].min("step", skipna=True).fillna(np.inf).clip(0, 1)
    T_max = float(np.max(ds["T"].values)) if "T" in ds.coords else float(scalar_param(ds, "T_max"))
    score = acc.fillna(-1.0) - loss / (10.0 * T_max)
    return score.argmax("lr")


def at_best_lr(ds: xr.Dataset, var: str) -> xr.DataArray:
    choice = best_lr_choice(ds)
    return ds[var] if choice is None else ds[var].isel(lr=choice)


def with_seed_stats(ds: xr.Dataset) -> xr.Dataset:
    """A panel with a seed axis and the seed statistics of ``summarize`` (one seed: all equal capacity),
    plus those of M: max_memorized_mean / _lo / _hi (95 % t-interval), _min / _max and _censored (the
    whole T grid memorized)."""
    ds = ds.copy()
    if "seed" not in ds.dims:
        seed = [scalar_param(ds, "seed")] if "seed" not in ds.coords else [ds["seed"].item()]
        ds = ds.drop_vars("seed", errors="ignore")
        for var in SEED_VARS:
            if var in ds:
                ds[var] = ds[var].expand_dims(seed=seed, axis=-1)
    cap = ds["capacity"]
    for name, value in (("mean", cap.mean("seed")), ("lo", cap.mean("seed")), ("hi", cap.mean("seed")),
                        ("min", cap.min("seed")), ("max", cap.max("seed"))):
        if f"capacity_{name}" not in ds:
            ds[f"capacity_{name}"] = value
    if "max_memorized" in ds and "max_memorized_mean" not in ds:
        M = ds["max_memorized"]
        ds["max_memorized_mean"], ds["max_memorized_lo"], ds["max_memorized_hi"] = seed_interval(M)
        ds["max_memorized_min"], ds["max_memorized_max"] = M.min("seed"), M.max("seed")
        ds["max_memorized_censored"] = M >= float(ds["T"].max()) - 0.5  # the whole T grid memorized
    return ds
