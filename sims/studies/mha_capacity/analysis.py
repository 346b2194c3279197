"""Summaries of `mha-capacity` results (xarray, no JAX): capacities from the adaptive search, their
seed intervals, and softmax saturation.

Memorization is training accuracy of the trained model, as in the paper's experiments (arXiv
2306.02010, Sec. 5, Fig. 2). The capacity of a config is the largest number of training examples T
that training memorizes at target_acc, found by the search of ``run.run``: it is a measurement only
where the search bracketed it (a memorized T below a failed T, closed to the stated resolution), never
where it stopped at a search bound (T_max memorized, or even T = 1 failed).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import stats

from ...dataset import annotate
from ...stats import t_quantile
from ...study import param_value

SATURATED = 0.99  # a head is saturated on an example if its largest attention weight exceeds this

# units and long_name of every variable of a results file (CF conventions; "1": dimensionless)
VARIABLES = {
    "probe": ("1", "probe of the capacity search (index, in the order run)"),
    "example": ("1", "training example (index)"),
    "head": ("1", "attention head (index)"),
    "probe_T": ("1", "training examples T of the probe (0: slot unused)"),
    "probe_acc": ("1", "best logged training accuracy of the probe"),
    "probe_loss": ("1", "lowest logged training loss of the probe (cross-entropy; squared error when C = 1)"),
    "probe_steps": ("1", "optimizer steps the probe ran (it stops once it memorizes)"),
    "probe_used": ("1", "the probe slot was used"),
    "capacity": ("1", "largest T memorized at target_acc by the search (0: none)"),
    "capacity_fail": ("1", "smallest T the search failed to memorize (T_max + 1: none failed)"),
    "search_done": ("1", "the search closed its bracket to the resolution or stopped at a bound"),
    "max_attn": ("1", "largest attention weight of each head on each example after training at T = capacity"),
    "max_attn_init": ("1", "largest attention weight of each head on each example at initialization"),
    "capacity_at_bound": ("1", "the search stopped at a bound (T_max memorized, or nothing memorized): not a capacity"),
    "capacity_resolved": ("1", "the capacity is measured: bracketed below a failed T, to the resolution, not at a bound"),
    "capacity_estimate": ("1", "capacity where resolved, NaN where not (best over lr when lr is swept)"),
    "acc": ("1", "training accuracy of the first probe (the only one with search = 'fixed'), best over lr"),
    "memorized": ("1", "chance-corrected memorized count T (acc - 1/C) / (1 - 1/C) of the first probe (T acc when C = 1)"),
    "saturated_fraction": ("1", f"fraction of (example, head) pairs whose largest attention weight exceeds {SATURATED} after training"),
    "saturated_fraction_init": ("1", f"fraction of (example, head) pairs whose largest attention weight exceeds {SATURATED} at initialization"),
    "capacity_mean": ("1", "capacity, mean over seeds (NaN if a seed is unresolved)"),
    "capacity_lo": ("1", "capacity, lower end of the 95% Student t interval of the mean over seeds"),
    "capacity_hi": ("1", "capacity, upper end of the 95% Student t interval of the mean over seeds"),
    "capacity_min": ("1", "capacity, smallest over seeds"),
    "capacity_max": ("1", "capacity, largest over seeds"),
}


def seed_interval(values: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """(mean, lo, hi) over the 'seed' dim: the two-sided 95 % Student t interval of the mean (lo = hi =
    mean with one seed)."""
    k = values.sizes["seed"]
    mean = values.mean("seed", skipna=False)
    if k < 2:
        return mean, mean, mean
    half = t_quantile(k - 1) * values.std("seed", ddof=1) / np.sqrt(k)
    return mean, mean - half, mean + half


def summarize(ds: xr.Dataset) -> xr.Dataset:
    """Add the capacity flags and estimate, the first probe's accuracy, saturation and seed intervals.

    capacity_at_bound, capacity_resolved (..., seed, lr); capacity_estimate (..., seed): the resolved
    capacity, maximised over lr when an lr axis is swept (capacity is an existence notion; unresolved
    values never count); acc, memorized: the first probe's accuracy and chance-corrected count (the
    whole story when search = 'fixed', where T may be a grid axis); saturated_fraction(_init): fraction of
    (example, head) pairs with largest weight > 0.99 at T = capacity; capacity_mean / _lo / _hi (95 % t
    interval over seeds), _min / _max.
    """
    T_max, C = int(param_value(ds, "T_max")), int(param_value(ds, "C"))
    cap = ds["capacity"].astype(float)
    ds["capacity_at_bound"] = (ds["capacity"] >= T_max) | (ds["capacity"] <= 0)
    searched = param_value(ds, "search") == "bisect"  # one run at a fixed T brackets nothing
    ds["capacity_resolved"] = ds["search_done"].astype(bool) & ~ds["capacity_at_bound"] & searched
    estimate = cap.where(ds["capacity_resolved"])
    ds["capacity_estimate"] = estimate.max("lr") if "lr" in ds.dims else estimate  # NaN only if no lr resolved
    acc = ds["probe_acc"].isel(probe=0, drop=True)
    acc = acc.max("lr") if "lr" in acc.dims else acc
    T = ds["probe_T"].isel(probe=0, drop=True)
    T = T.max("lr") if "lr" in T.dims else T
    ds["acc"] = acc
    ds["memorized"] = T * (acc - 1.0 / C) / (1.0 - 1.0 / C) if C > 1 else T * acc
    for suffix in ("", "_init"):
        attn = ds["max_attn" + suffix]
        ds["saturated_fraction" + suffix] = (attn > SATURATED).where(attn.notnull()).mean(("example", "head"))
    if "seed" in ds.dims:
        est = ds["capacity_estimate"]
        ds["capacity_mean"], ds["capacity_lo"], ds["capacity_hi"] = seed_interval(est)
        ds["capacity_min"], ds["capacity_max"] = est.min("seed", skipna=False), est.max("seed", skipna=False)
    return annotate(ds, VARIABLES)


def fit_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least-squares line y = a + b x: (slope b, intercept a, R^2)."""
    fit = stats.linregress(x, y)
    return float(fit.slope), float(fit.intercept), float(fit.rvalue**2)
